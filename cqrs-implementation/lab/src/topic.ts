import { createKafka, type Kafka } from '@lab/shared/kafka';
import { createLogger } from '@lab/shared/logging';
import type { LabNamespace } from './services.ts';

export const eventTopic = (ns: LabNamespace) => `${ns.topicPrefix}cqrs.events`;
export const projectorGroup = (ns: LabNamespace) => `${ns.topicPrefix}cqrs-projector`;

export function labKafka(ns: LabNamespace): Kafka {
  return createKafka('cqrs-lab', ns.kafkaBrokers.split(','), createLogger('cqrs-lab', 'error'));
}
