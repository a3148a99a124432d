export {
  participantChaos,
  participantChaosTargets,
  type ParticipantChaos,
  type ParticipantChaosTarget,
} from './infrastructure/chaos.ts';
export { serverTiming } from './entry-points/api/server-timing.ts';
export { idempotentRoute } from './entry-points/api/idempotent-route.ts';
export { idempotent, requestHash, type Outcome } from './data-access/idempotency.repository.ts';
export {
  participantConfigSchema,
  runInventoryParticipant,
  runParticipant,
  type ParticipantConfig,
} from './run-participant.ts';
