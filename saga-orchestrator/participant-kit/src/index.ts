export { Chaos, ChaosRequest, chaosTargets, type ChaosTarget } from './domain/chaos.ts';
export { chaosGate, finishOrLose, serverTiming } from './entry-points/api/chaos.middleware.ts';
export { idempotentRoute } from './entry-points/api/idempotent-route.ts';
export { idempotent, requestHash, type Outcome } from './data-access/idempotency.repository.ts';
export {
  participantConfigSchema,
  runInventoryParticipant,
  runParticipant,
  type ParticipantConfig,
} from './run-participant.ts';
