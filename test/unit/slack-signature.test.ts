// Slack's v0 request signature, checked as Slack documents it: HMAC-SHA256 over
// v0:{timestamp}:{raw body}, within five minutes.
import { describe, expect, it } from 'vitest';
import { slackSignature, verifySlackSignature } from '../../src/chatops/slack-signature.js';
import { parseCommand } from '../../src/chatops/slack-commands.js';

// The example from Slack's "Verifying requests from Slack" guide.
const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const TIMESTAMP = '1531420618';
const BODY = 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';

describe('Slack request verification', () => {
  const at = Number(TIMESTAMP) * 1000;

  it("matches Slack's documented example", () => {
    expect(slackSignature(SECRET, TIMESTAMP, BODY)).toBe('v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503');
    expect(verifySlackSignature({ rawBody: BODY, timestamp: TIMESTAMP, signature: slackSignature(SECRET, TIMESTAMP, BODY) }, SECRET, at)).toMatch(/^v0=/);
  });

  it('refuses a changed body, a wrong secret, a missing header and an old timestamp', () => {
    const signature = slackSignature(SECRET, TIMESTAMP, BODY);
    expect(() => verifySlackSignature({ rawBody: `${BODY}&x=1`, timestamp: TIMESTAMP, signature }, SECRET, at)).toThrow(expect.objectContaining({ code: 'slack_signature_invalid' }));
    expect(() => verifySlackSignature({ rawBody: BODY, timestamp: TIMESTAMP, signature }, 'another-secret', at)).toThrow(expect.objectContaining({ code: 'slack_signature_invalid' }));
    expect(() => verifySlackSignature({ rawBody: BODY, timestamp: TIMESTAMP, signature: undefined }, SECRET, at)).toThrow(expect.objectContaining({ code: 'slack_signature_missing' }));
    expect(() => verifySlackSignature({ rawBody: BODY, timestamp: TIMESTAMP, signature }, SECRET, at + 301_000)).toThrow(expect.objectContaining({ code: 'slack_timestamp_stale' }));
    expect(() => verifySlackSignature({ rawBody: BODY, timestamp: TIMESTAMP, signature: 'v0=short' }, SECRET, at)).toThrow(expect.objectContaining({ code: 'slack_signature_invalid' }));
  });

  it('parses the commands of its table and refuses others', () => {
    expect(parseCommand('/stackpilot', 'deploy development backend.image=x:1')).toEqual({ name: 'deploy', args: ['development', 'backend.image=x:1'] });
    expect(parseCommand('/stackpilot', ' status ')).toEqual({ name: 'status', args: [] });
    expect(() => parseCommand('/stackpilot', 'explode development')).toThrow(expect.objectContaining({ code: 'unknown_command' }));
    expect(() => parseCommand('/deploy', 'status')).toThrow(expect.objectContaining({ code: 'unknown_command' }));
    expect(() => parseCommand('/stackpilot', 'preview')).toThrow(expect.objectContaining({ code: 'invalid_command' }));
  });
});
