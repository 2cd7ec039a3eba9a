// Every route that queues an operation answers the same way: 202, the operation, and where to follow it.
import type { FastifyReply } from 'fastify';
import type { Operation } from '../operations/operation.js';

export const accepted = (reply: FastifyReply, operation: Operation) => reply.code(202).header('location', `/v1/operations/${operation.id}`).send(operation);
