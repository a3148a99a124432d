/**
 * The benchmark's baselines, in a process of their own like the services they are compared
 * with: a bare Express endpoint (the ceiling for any Express service on this machine), and the
 * customer-orders question answered from the write model with joins (what the read model is
 * there to avoid).
 */
import express from 'express';
import { createPool } from '@lab/shared/pg';
import { createRedis } from '@lab/shared/redis';

const pool = createPool(process.env.BASELINE_DATABASE_URL ?? '', { max: 10 });
const redis = createRedis(process.env.BASELINE_REDIS_URL ?? 'redis://127.0.0.1:6379');
// As the query service does: the reads of one event-loop turn go to Redis as one pipeline.
redis.options.enableAutoPipelining = true;
const live = `${process.env.BASELINE_REDIS_KEY_PREFIX ?? ''}cqrs:g1:`;
const app = express();
// Set up as every lab service is (shared/src/http/app.ts): no ETag, so the baselines and the
// services pay for the same framework work and the ratios show only what a service adds.
app.set('etag', false);
const document = { id: 'bare', status: 'ok', version: 1 };

app.get('/bare', (_req, res) => {
  res.json(document);
});

// The floor under any read served from Redis: bare Express plus one HGET of what the projector
// stored (live generation g1; the bench never rebuilds), sent as it is: a product document, and
// a customer's first page of orders (about 6 KB).
app.get('/products/:id', async (req, res) => {
  res.type('json').send(await redis.hget(`${live}product:${req.params.id}`, 'doc'));
});
app.get('/first-pages/:customer', async (req, res) => {
  const items = await redis.hget(`${live}customer:${req.params.customer}:first-page`, 'items');
  res.type('json').send(`{"items":[${items ?? ''}]}`);
});

app.get('/customers/:id/orders', async (req, res) => {
  const { rows } = await pool.query(
    `SELECT o.id, o.customer_id AS "customerId", o.status, o.placed_at AS "placedAt",
            o.total_cents AS "totalCents", o.version,
            json_agg(json_build_object('productId', l.product_id, 'productName', p.name,
              'quantity', l.quantity, 'unitPriceCents', l.unit_price_cents) ORDER BY l.line_no) AS lines
       FROM orders o
       JOIN order_lines l ON l.order_id = o.id
       JOIN products p ON p.id = l.product_id
      WHERE o.customer_id = $1
      GROUP BY o.id
      ORDER BY o.placed_at DESC
      LIMIT 20`,
    [req.params.id],
  );
  res.json({ items: rows });
});

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(
    `${JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${port}` })}\n`,
  );
});
app.get('/readyz', (_req, res) => {
  res.json({ ok: true });
});
process.once('SIGTERM', () => {
  server.close();
  redis.disconnect();
  void pool.end().then(() => process.exit(0));
});
