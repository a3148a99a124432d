/** A small HTTP client for the lab's two APIs, used by the CLI, the tests and the bench. */
export interface Reply<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

async function call<T>(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: (text ? JSON.parse(text) : {}) as T,
    headers: res.headers,
  } as Reply<T>;
}

export interface Written {
  id: string;
  version: number;
  consistencyToken: string;
}

export function commandClient(base: string) {
  return {
    createProduct: (input: { sku: string; name: string; priceCents: number; stock: number }) =>
      call<Written>('POST', `${base}/products`, input),
    restock: (id: string, quantity: number) =>
      call<Written>('POST', `${base}/products/${id}/restock`, { quantity }),
    placeOrder: (
      input: { customerId: string; lines: { productId: string; quantity: number }[] },
      idempotencyKey?: string,
    ) =>
      call<Written>(
        'POST',
        `${base}/orders`,
        input,
        idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey },
      ),
    cancel: (id: string, expectedVersion: number) =>
      call<Written>('POST', `${base}/orders/${id}/cancel`, { expectedVersion }),
  };
}

/**
 * `patienceMs` is sent as X-Consistency-Timeout-Ms with every token (unless a call names its
 * own): tests on a busy machine wait longer than the service's 2 s default, the semantics stay.
 */
export function queryClient(base: string, patienceMs?: number) {
  const get = <T = Record<string, unknown>>(
    path: string,
    token?: string,
    timeoutMs: number | undefined = patienceMs,
  ) =>
    call<T>('GET', `${base}${path}`, undefined, {
      ...(token !== undefined && { 'x-consistency-token': token }),
      ...(timeoutMs !== undefined && { 'x-consistency-timeout-ms': String(timeoutMs) }),
    });
  return {
    get,
    order: (id: string, token?: string) => get(`/orders/${id}`, token),
    product: (id: string, token?: string) => get(`/products/${id}`, token),
    top: (limit: number, token?: string) =>
      get<{ items: Record<string, unknown>[] }>(`/products/top?limit=${limit}`, token),
    customerOrders: (id: string, cursor?: string, limit = 20) =>
      get<{ items: { id: string }[]; nextCursor: string | null }>(
        `/customers/${encodeURIComponent(id)}/orders?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
      ),
  };
}

export interface RebuildResult {
  from: string;
  to: string;
  products: number;
  orders: number;
}

/** The projector's operator API. */
export function projectorClient(base: string) {
  return {
    /** Answers when readers use the new generation; 409 while another rebuild runs. */
    rebuild: (body: unknown = {}) => call<RebuildResult>('POST', `${base}/admin/rebuilds`, body),
    /** `checkpoint` is `ready` once the read model is whole: no heal replaying the log. */
    status: () => call<{ checkpoint: string; lagEvents: number | null }>('GET', `${base}/status`),
  };
}
