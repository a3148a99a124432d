import { AppError, problems } from '@lab/shared/http';
import {
  FIRST_PAGE,
  ReadModelIncomplete,
  TOP_PAGE,
  type ReadModelRepository,
} from '../../data-access/read-model.repository.ts';

/**
 * A read model being restored from the event log cannot tell "does not exist" from "not
 * replayed yet": the honest answer is the one a lagging read model gives, 503 with Retry-After.
 */
async function complete<T>(read: Promise<T>): Promise<T> {
  try {
    return await read;
  } catch (error) {
    if (!(error instanceof ReadModelIncomplete)) throw error;
    throw problems.unavailable('read-model-behind', error.message, 1);
  }
}

/**
 * Query use cases: each one is a single read of a model shaped for it, no joins. They answer
 * JSON text (or its bytes) assembled from the stored documents (see the repository), never
 * re-serialised.
 */
export async function getOrder(readModel: ReadModelRepository, id: string) {
  const order = await complete(readModel.view('order', id));
  if (!order) throw problems.notFound(`Order ${id}`);
  return order;
}

export async function getProduct(readModel: ReadModelRepository, id: string) {
  const product = await complete(readModel.view('product', id));
  if (!product) throw problems.notFound(`Product ${id}`);
  return product;
}

/**
 * The answers made from a stored page, by the page the read model handed back. With the near
 * cache on, a page comes back as the same object until the projector changes it, so its answer
 * is built and encoded once per change instead of once per read (for a customer's first page,
 * a 6 KB copy and the cursor's encoding); a page read from Redis is a new object, used once.
 * The answer lives as long as its page, so a page the near cache keeps costs about twice the
 * size it is counted at against NEAR_CACHE_MB.
 */
const answers = new WeakMap<object, Buffer>();

function answerFrom(page: object, build: () => string): Buffer {
  let answer = answers.get(page);
  if (!answer) {
    answer = Buffer.from(build());
    answers.set(page, answer);
  }
  return answer;
}

export async function topProducts(readModel: ReadModelRepository, limit: number) {
  if (limit === TOP_PAGE) {
    // The page most requests ask for, stored whole by the projector: one read model lookup.
    const page = await complete(readModel.topProductsPage());
    if (page !== undefined) return answerFrom(page, () => `{"items":[${page.items}]}`);
  }
  return `{"items":[${(await complete(readModel.topProducts(limit))).join(',')}]}`;
}

/**
 * Newest first, paginated by a cursor naming the last order seen (not an offset), so a page
 * is stable while new orders arrive at the head of the list.
 */
export async function customerOrders(
  readModel: ReadModelRepository,
  customerId: string,
  cursor: string | undefined,
  limit: number,
) {
  if (cursor === undefined && limit === FIRST_PAGE) {
    // The page most requests ask for, stored whole by the projector: one read model lookup
    // and one string, instead of a lookup and a string per order.
    const first = await complete(readModel.customerFirstPage(customerId));
    if (first)
      return answerFrom(
        first,
        () =>
          `{"items":[${first.items}],"nextCursor":${first.next ? JSON.stringify(encodeCursor(first.next)) : 'null'}}`,
      );
  }
  const after = cursor === undefined ? '' : decodeCursor(cursor);
  const page = await complete(readModel.customerOrders(customerId, after, limit));
  if (!page)
    throw invalidCursor('The cursor does not point into this list.', 'not a position in this list');
  const items = page.slice(0, limit);
  const last = items.at(-1);
  const nextCursor = page.length > limit && last ? encodeCursor(last.id) : null;
  return `{"items":[${items.map((item) => item.doc).join(',')}],"nextCursor":${JSON.stringify(nextCursor)}}`;
}

function encodeCursor(orderId: string): string {
  return Buffer.from(orderId).toString('base64url');
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/.test(id))
    throw invalidCursor(
      'The cursor is not one this service issued.',
      'not a cursor this service issued',
    );
  return id;
}

function invalidCursor(detail: string, message: string): AppError {
  return new AppError('invalid-cursor', 400, detail, {
    errors: [{ path: 'query.cursor', message, code: 'invalid_format' }],
  });
}
