// Slack's request signing (v0): HMAC-SHA256 with the app's signing secret over
// `v0:{X-Slack-Request-Timestamp}:{raw body}`, sent as `v0=<hex>` in X-Slack-Signature. It is
// compared in constant time; a timestamp more than five minutes from now is refused (so a
// captured request is useless later), and each signature is accepted once (so it is useless
// sooner too).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { UnauthorizedError } from '../errors.js';

export const MAX_AGE_SECONDS = 5 * 60;

export interface SignedRequest {
  rawBody: string;
  timestamp: string | undefined;
  signature: string | undefined;
}

export function slackSignature(signingSecret: string, timestamp: string, rawBody: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

/** Throws a 401 naming what is wrong; returns the signature, to be checked against replays. */
export function verifySlackSignature(request: SignedRequest, signingSecret: string, now = Date.now()): string {
  const { timestamp, signature, rawBody } = request;
  if (!timestamp || !signature) throw new UnauthorizedError('slack_signature_missing', 'X-Slack-Signature and X-Slack-Request-Timestamp are required');
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(now / 1000 - Number(timestamp)) > MAX_AGE_SECONDS) {
    throw new UnauthorizedError('slack_timestamp_stale', 'the request timestamp is more than five minutes from now');
  }
  const expected = Buffer.from(slackSignature(signingSecret, timestamp, rawBody));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new UnauthorizedError('slack_signature_invalid', 'the Slack signature does not match the body');
  }
  return signature;
}
