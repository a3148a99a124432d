/**
 * The monolith's exercise seam: what a learner's module may replace (LAB_EXERCISE_MODULE,
 * honoured only with LAB_CHAOS=1, see @lab/shared/exercise).
 * - paymentPort: the port the booking charges the card through. Production keeps the payments
 *   module in-process, on the trip's own transaction; an exercise may put a remote payments
 *   service behind the same port (`paymentsUrl`, from PAYMENTS_URL) and find out what the
 *   network hop asks of it.
 */
import type { PaymentPort } from './modules/trips/index.ts';

export interface MonolithSeams {
  paymentPort: (local: PaymentPort, settings: { paymentsUrl: string | undefined }) => PaymentPort;
}

export const monolithSeams: MonolithSeams = {
  paymentPort: (local) => local,
};
