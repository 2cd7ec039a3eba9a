// Operations: queue one, read it (optionally waiting for its end), list an environment's,
// cancel one, follow its events (SSE) and read its plain-text log. Each handler turns the
// request into an actor and its input, and calls the domain, which decides and audits.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from './request-actor.js';
import { accepted } from './accepted.js';
import type { OperationService } from '../operations/operation-service.js';
import { isFinished, type Operation } from '../operations/operation.js';
import { ANY_CREDENTIAL, EnvironmentName, OperationId, OperationPage, OperationRequest, problems } from './schemas.js';

const MAX_PAGE = 100;
const OPERATION = Type.Ref('Operation');

/**
 * A finished operation never changes, and the domain hands out the same object for it each
 * time (its cache of finished operations): its JSON is written once (as UTF-8 bytes), by the Operation schema's
 * serializer, and kept as long as that object lives. A page of history is then a join.
 */
const serialized = new WeakMap<Operation, Buffer>();
const PAGE_START = Buffer.from('{"items":[');
const COMMA = Buffer.from(',');
let serializeOperation: ((operation: Operation) => string) | undefined;
const MAX_WAIT_SECONDS = 60;

export const operationRoutes: FastifyPluginAsyncTypebox<{ operations: OperationService }> = async (app, { operations }) => {
  app.post('/v1/environments/:env/operations', {
    schema: {
      security: ANY_CREDENTIAL,
      operationId: 'createOperation',
      tags: ['operations'],
      summary: 'Queue a preview, update, refresh or destroy of an environment',
      description: 'Returns at once with the queued operation; follow it with GET /v1/operations/{id}?wait=, '
        + 'or its event stream. A retry with the same Idempotency-Key (by the same principal, on the same '
        + 'environment) returns the first operation. Destroy needs an admin session. The operation runs with '
        + 'one configuration version: `configVersion`, a new one made from `config` changes in the same '
        + 'transaction, or the latest. On a protected environment an update or destroy plans first and waits '
        + 'for approval (status awaiting_approval; ?wait= returns then). An update or destroy asked for while the environment\'s '
        + 'maintenance window is shut is scheduled (status scheduled, notBefore = the next opening) and runs when it opens; '
        + '`bypassWindow` (an admin with a second-factor session, with a reason) runs it now.',
      params: Type.Object({ env: EnvironmentName }),
      headers: Type.Object({
        'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]+$' })),
      }),
      body: OperationRequest,
      response: {
        202: Type.Ref('Operation'),
        ...problems(400, 401, 403, 404, 409, 413, 415, 422, 429, 500),
      },
    },
  }, async (request, reply) => {
    const { type, scope = 'all', message, debug, configVersion, config, bypassWindow } = request.body;
    const { operation, created } = await operations.enqueue(
      actorOf(request), request.params.env, { type, scope, message, debug, configVersion, config: config as never, bypassWindow }, request.headers['idempotency-key'],
    );
    if (!created) reply.header('idempotent-replayed', 'true');
    return accepted(reply, operation);
  });

  app.get('/v1/environments/:env/operations', {
    schema: {
      security: ANY_CREDENTIAL,
      operationId: 'listOperations',
      tags: ['operations'],
      summary: "An environment's operations, newest first",
      params: Type.Object({ env: EnvironmentName }),
      querystring: Type.Object({
        limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 20 }),
        cursor: Type.Optional(Type.String({ maxLength: 64 })),
      }, { additionalProperties: false }),
      response: { 200: OperationPage, ...problems(400, 401, 403, 404, 429, 500) },
    },
  }, async (request, reply) => {
    const page = await operations.list(actorOf(request), request.params.env, request.query.limit, request.query.cursor);
    serializeOperation ??= reply.compileSerializationSchema(OPERATION as never) as unknown as (operation: Operation) => string;
    const parts: Buffer[] = [PAGE_START];
    page.items.forEach((operation, i) => {
      if (i > 0) parts.push(COMMA);
      if (!isFinished(operation.status)) return void parts.push(Buffer.from(serializeOperation!(operation)));
      let json = serialized.get(operation);
      if (json === undefined) serialized.set(operation, json = Buffer.from(serializeOperation!(operation)));
      parts.push(json);
    });
    parts.push(Buffer.from(`],"nextCursor":${JSON.stringify(page.nextCursor)}}`));
    // The page as OperationPage's serializer would write it, from items already written; bytes
    // are sent as they are, neither serialized nor encoded again.
    return reply.type('application/json; charset=utf-8').send(Buffer.concat(parts) as never);
  });

  app.get('/v1/operations/:id', {
    schema: {
      security: ANY_CREDENTIAL,
      operationId: 'getOperation',
      tags: ['operations'],
      summary: 'One operation; with ?wait=SECONDS, answers when it ends, awaits approval, or the time is up',
      params: Type.Object({ id: OperationId }),
      querystring: Type.Object({
        wait: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_WAIT_SECONDS, description: 'Long-poll up to this many seconds' })),
      }, { additionalProperties: false }),
      response: { 200: Type.Ref('Operation'), ...problems(400, 401, 403, 404, 429, 500) },
    },
  }, async (request) => {
    const { wait } = request.query;
    if (!wait) return operations.get(actorOf(request), request.params.id);
    const closed = new AbortController();
    request.raw.once('close', () => closed.abort());
    return operations.waitForEnd(actorOf(request), request.params.id, wait, closed.signal);
  });

  app.post('/v1/operations/:id/cancel', {
    schema: {
      security: ANY_CREDENTIAL,
      operationId: 'cancelOperation',
      tags: ['operations'],
      summary: 'Cancel an operation: a queued one leaves the queue, a running one is stopped gracefully',
      params: Type.Object({ id: OperationId }),
      response: { 202: Type.Ref('Operation'), ...problems(400, 401, 403, 404, 409, 429, 500) },
    },
  }, async (request, reply) => reply.code(202).send(await operations.cancel(actorOf(request), request.params.id)));

  app.get('/v1/operations/:id/events', {
    sse: { kind: 'only' },
    schema: {
      security: ANY_CREDENTIAL,
      operationId: 'streamOperationEvents',
      tags: ['operations'],
      summary: "The operation's engine events as Server-Sent Events",
      description: 'Each event carries its sequence number as the SSE id and the engine event kind as its name '
        + '(prelude, resourcePre, resOutputs, diagnostic, summary...); the stream ends with a `result` event. '
        + 'Reconnect with Last-Event-ID (or ?after=) to get the rest with no gap and no duplicate. The engine\'s '
        + 'debug diagnostics are left out unless the operation was queued with `debug: true`.',
      params: Type.Object({ id: OperationId }),
      querystring: Type.Object({
        after: Type.Optional(Type.Integer({ minimum: 0, description: 'Start after this sequence (Last-Event-ID wins)' })),
      }, { additionalProperties: false }),
      headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })) }),
      response: {
        200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: Type.String() } } },
        ...problems(400, 401, 403, 404, 406, 429, 500),
      },
    },
  }, async (request, reply) => {
    const lastEventId = request.headers['last-event-id'];
    const after = lastEventId !== undefined ? Number(lastEventId) : request.query.after ?? 0;
    const closed = new AbortController();
    // Refusals (404, 429) come before the stream starts.
    const stream = await operations.openEvents(actorOf(request), request.params.id, after, closed.signal, () => request.stillAuthenticated());
    reply.sse.onClose(() => closed.abort());
    await reply.sse.send((async function* () {
      for await (const event of stream) yield { id: String(event.sequence), event: event.type, data: event.payload };
    })());
  });

  app.get('/v1/operations/:id/log', {
    schema: {
      security: ANY_CREDENTIAL,
      operationId: 'getOperationLog',
      tags: ['operations'],
      summary: "The operation's plain-text output, as the CLI printed it",
      params: Type.Object({ id: OperationId }),
      response: {
        200: { description: 'text/plain', content: { 'text/plain': { schema: Type.String() } } },
        ...problems(400, 401, 403, 404, 429, 500),
      },
    },
  }, async (request, reply) => reply.type('text/plain; charset=utf-8').send(await operations.output(actorOf(request), request.params.id)));
};
