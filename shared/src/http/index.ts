export { createApp, type AppOptions, type ReadinessCheck } from './app.ts';
export {
  AppError,
  dependencyUnavailable,
  isDependencyUnavailable,
  problems,
  PROBLEM_TYPE_BASE,
  type FieldIssue,
  type ProblemDocument,
} from './errors.ts';
export { onShutdown, start, type RunningServer, type ShutdownHook } from './server.ts';
export {
  codePointLength,
  idempotencyKey,
  text,
  unstorableText,
  optionalWholeNumber,
  uuid,
  wholeNumber,
  type TextOptions,
} from './text.ts';
export { issuesOf, parse, takesNothing } from './validate.ts';
export { answerWithin } from './answer-within.ts';
