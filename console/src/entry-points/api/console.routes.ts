import type { Express, Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { AppError, parse, problems, takesNothing, uuid } from '@lab/shared/http';
import type { Console } from '../../console.ts';
import {
  PARTICIPANT_FAULTS,
  PARTICIPANT_TARGETS,
  PARTICIPANTS,
  SOLD_OUT_PARTICIPANTS,
} from '../../labs/saga.watch.ts';
import { SUPPLIER_FAULTS, SUPPLIER_TARGETS } from '../../labs/resilience.watch.ts';
import { LabAnswerLost, LabRefused, LabUnreachable } from '../../labs/http.ts';

const Traffic = z.strictObject({ perSecond: z.number().int().min(0).max(20) });
const SupplierFault = z.strictObject({
  target: z.enum(SUPPLIER_TARGETS),
  fault: z.enum(SUPPLIER_FAULTS),
});
const NewTrip = z.strictObject({ soldOut: z.enum(SOLD_OUT_PARTICIPANTS).optional() });
const ParticipantFault = z.strictObject({
  participant: z.enum(PARTICIPANTS),
  target: z.enum(PARTICIPANT_TARGETS).default('action'),
  fault: z.enum(PARTICIPANT_FAULTS),
});
const TripParams = z.object({ id: uuid() });

/**
 * A lab that refused the console's request is the lab's answer passed on (its problem document
 * under `lab`); a lab that cannot be reached is a dependency that is away: 503; a request
 * sent whose answer never came is a 504 (out of time) or a 502 (the connection closed).
 */
function labCall(action: (req: Request) => Promise<unknown>, status = 200): RequestHandler {
  return async (req: Request, res: Response) => {
    let result: unknown;
    try {
      result = await action(req);
    } catch (error) {
      if (error instanceof AppError) throw error;
      // A lab's 4xx is about what was asked (a trip it does not know): the same status, so the
      // client's mistake is not reported as the lab's failure. A lab's 503 says one of its own
      // dependencies is away, which passes on as a 503 to retry; any other 5xx, or a 2xx the
      // console cannot read, is a bad gateway.
      if (error instanceof LabRefused) {
        const { status, body } = error.answer;
        const away = status === 503;
        throw new AppError(
          'lab-refused',
          status >= 400 && status < 500 ? status : away ? 503 : 502,
          error.message,
          {
            extensions: { lab: { status, body } },
            ...(away && { headers: { 'Retry-After': '1' } }),
          },
        );
      }
      if (error instanceof LabUnreachable)
        throw problems.unavailable(
          'lab-unreachable',
          `The lab did not answer: ${error.message}. Is it running?`,
          1,
        );
      // Sent, but no answer came: the lab may have carried an action out, so no Retry-After
      // invites the client to send it again; the page's state shows what happened.
      if (error instanceof LabAnswerLost)
        throw new AppError(
          error.timedOut ? 'lab-timeout' : 'lab-answer-lost',
          error.timedOut ? 504 : 502,
          `The lab did not finish answering: ${error.message}.${error.action ? " It may have carried the action out: look at the lab's state before sending it again." : ''}`,
        );
      // Anything else is the console's own failure: a 500, not a lab to wait for.
      throw error;
    }
    res.status(status).json(result ?? { ok: true });
  };
}

/** The console's own API: one stream of state for the page, and the buttons' actions. */
export function consoleRoutes(app: Express, console: Console): void {
  app.get('/api/state', async (req, res) => {
    takesNothing(req);
    res.json(await console.fresh());
  });

  // Server-Sent Events: the page gets every refresh (twice a second by default) on one
  // response that stays open, and the browser reconnects by itself if the console restarts.
  app.get('/api/events', (req, res) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    // HEAD gets the headers alone: a stream it cannot read would otherwise never end.
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.write('retry: 1000\n\n');
    const unsubscribe = console.subscribe({
      send: (state) => {
        // A page that stopped reading (a laptop asleep on an open connection) skips refreshes
        // until its socket drains, rather than having each one queued in this process.
        if (res.writableNeedDrain) return;
        res.write(`data: ${JSON.stringify(state)}\n\n`);
      },
      end: () => {
        res.end();
      },
    });
    req.on('close', unsubscribe);
  });

  app.post(
    '/api/resilience/traffic',
    labCall((req) => {
      const { perSecond } = parse(req, 'body', Traffic);
      console.resilience.setTraffic(perSecond);
      return Promise.resolve({ perSecond });
    }),
  );
  app.post(
    '/api/resilience/faults',
    labCall(async (req) => {
      const { target, fault } = parse(req, 'body', SupplierFault);
      const answer = await console.resilience.injectFault(target, fault);
      if (answer.status >= 300) throw new LabRefused('inject a supplier fault', answer);
      return answer.body;
    }),
  );
  app.delete(
    '/api/resilience/faults',
    labCall(async (req) => {
      // Clears every fault: a body or query naming one target is refused, not ignored.
      takesNothing(req);
      const answer = await console.resilience.clearFaults();
      if (answer.status >= 300) throw new LabRefused('clear the supplier faults', answer);
      return answer.body;
    }),
  );

  app.post(
    '/api/saga/trips',
    labCall((req) => {
      const { soldOut } = parse(req, 'body', NewTrip);
      return console.saga.bookTrip(soldOut);
    }, 202),
  );
  app.post(
    '/api/saga/faults',
    labCall((req) => {
      const { participant, target, fault } = parse(req, 'body', ParticipantFault);
      return console.saga.injectFault(participant, target, fault);
    }),
  );
  app.delete(
    '/api/saga/faults',
    labCall((req) => {
      takesNothing(req);
      return console.saga.clearFaults();
    }),
  );
  app.post(
    '/api/saga/trips/:id/retry-compensation',
    labCall((req) => {
      const { id } = parse(req, 'params', TripParams, 404);
      takesNothing(req);
      return console.saga.retryCompensation(id);
    }, 202),
  );
  app.post(
    '/api/saga/trips/:id/compensate',
    labCall((req) => {
      const { id } = parse(req, 'params', TripParams, 404);
      takesNothing(req);
      return console.saga.compensateTrip(id);
    }, 202),
  );

  app.post(
    '/api/cqrs/orders',
    labCall((req) => {
      takesNothing(req);
      return console.cqrs.placeThenRead();
    }),
  );
  app.get(
    '/api/cqrs/dead-letters',
    labCall((req) => {
      takesNothing(req);
      return console.cqrs.deadLetters();
    }),
  );
  app.post(
    '/api/cqrs/dead-letters/replays',
    labCall((req) => {
      takesNothing(req);
      return console.cqrs.replayDeadLetters();
    }),
  );
}
