// The SSRF guard refuses private, loopback, link-local (cloud metadata) and other non-public
// targets before any connection is made, unless their range is allowlisted; and the retry
// schedule spreads attempts as Standard Webhooks describes.
import { describe, expect, it } from 'vitest';
import { startReceiver } from '../support/receiver.js';
import { postOutbound } from '../../src/notifications/webhooks/outbound-request.js';
import { DEFAULT_RETRY_SECONDS, nextAttemptAt } from '../../src/notifications/webhooks/retry-schedule.js';
import { TargetRefusedError, checkTarget, parseAllowlist, parseTargetUrl, refusalOf } from '../../src/notifications/webhooks/target-guard.js';

describe('the webhook target guard', () => {
  it.each([
    ['169.254.169.254', 'linkLocal'], ['10.0.0.1', 'private'], ['192.168.1.10', 'private'], ['172.16.5.4', 'private'],
    ['127.0.0.1', 'loopback'], ['0.0.0.0', 'unspecified'], ['100.100.100.200', 'carrierGradeNat'],
    ['::1', 'loopback'], ['fd00:ec2::254', 'uniqueLocal'], ['fe80::1', 'linkLocal'], ['::ffff:10.0.0.1', 'private'],
  ])('refuses %s (%s)', (address, range) => {
    expect(refusalOf(address, [])).toContain(range);
  });

  it('lets public addresses through, and allowlisted ranges', () => {
    expect(refusalOf('93.184.216.34', [])).toBeUndefined();
    expect(refusalOf('2606:4700::6810:84e5', [])).toBeUndefined();
    expect(refusalOf('127.0.0.1', parseAllowlist(['127.0.0.0/8']))).toBeUndefined();
    expect(refusalOf('10.0.0.1', parseAllowlist(['127.0.0.0/8']))).toContain('private');
  });

  it('refuses the metadata address and a private one at once, with no connection attempted', async () => {
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1:8080/hook', 'http://[::ffff:169.254.169.254]/']) {
      await expect(checkTarget(parseTargetUrl(url), [])).rejects.toBeInstanceOf(TargetRefusedError);
      // The delivery path checks before it opens a socket: a refusal, never a timeout.
      const started = Date.now();
      await expect(postOutbound(url, '{}', {}, { allow: [], timeoutMs: 10_000 })).rejects.toMatchObject({ code: 'webhook_target_refused' });
      expect(Date.now() - started).toBeLessThan(1000);
    }
  });

  it('refuses a name that resolves to loopback, at the connection itself, with nothing sent', async () => {
    await expect(checkTarget(parseTargetUrl('http://localhost:9/'), [])).rejects.toThrow(/loopback/);
    const receiver = await startReceiver();
    try {
      const byName = receiver.url.replace('127.0.0.1', 'localhost');
      await expect(postOutbound(byName, '{}', {}, { allow: [], timeoutMs: 10_000 })).rejects.toThrow(/loopback/);
      expect(receiver.requests).toEqual([]);
      // Allowlisted, the same name is reached: the refusal was the guard's, not the network's.
      expect((await postOutbound(byName, '{}', {}, { allow: parseAllowlist(['127.0.0.0/8', '::1/128']), timeoutMs: 10_000 })).status).toBe(200);
      expect(receiver.requests).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });

  it.each(['ftp://example.com/', 'file:///etc/passwd', 'javascript:alert(1)', 'not a url', 'https://user:pw@example.com/'])('refuses the URL %s', (url) => {
    expect(() => parseTargetUrl(url)).toThrow(expect.objectContaining({ code: 'invalid_webhook_url' }));
  });
});

describe('the retry schedule', () => {
  it('follows immediately, 5 s, 5 min, ... 24 h with ±10 % jitter, then gives up', () => {
    const now = 1_000_000;
    expect(nextAttemptAt(DEFAULT_RETRY_SECONDS, 0, now, undefined, () => 0.5)).toBe(now);
    expect(nextAttemptAt(DEFAULT_RETRY_SECONDS, 1, now, undefined, () => 0.5)).toBe(now + 5000);
    expect(nextAttemptAt(DEFAULT_RETRY_SECONDS, 2, now, undefined, () => 0)).toBe(now + 270_000);
    expect(nextAttemptAt(DEFAULT_RETRY_SECONDS, 2, now, undefined, () => 1)).toBe(now + 330_000);
    expect(nextAttemptAt(DEFAULT_RETRY_SECONDS, 9, now, undefined, () => 0.5)).toBe(now + 86_400_000);
    expect(nextAttemptAt(DEFAULT_RETRY_SECONDS, 10, now)).toBeUndefined();
  });

  it('never comes sooner than the receiver’s Retry-After', () => {
    expect(nextAttemptAt(DEFAULT_RETRY_SECONDS, 1, 0, 120, () => 0.5)).toBe(120_000);
    expect(nextAttemptAt(DEFAULT_RETRY_SECONDS, 3, 0, 120, () => 0.5)).toBe(1_800_000);
  });
});
