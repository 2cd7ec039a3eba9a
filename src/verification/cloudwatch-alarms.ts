// CloudWatch alarms as a check source: the alarms the AWS program exports, read by name. One in
// ALARM is a failure; an alarm that does not exist, or an AWS API that does not answer, is an
// error. The client is injected (tests pass a mock: AWS cannot run here), and by default is the
// AWS SDK's, with its usual credential chain (environment, profile, IRSA web identity).
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import type { Measurement } from './verification-progress.js';

/** What the check needs from CloudWatch: each named alarm's state (OK, ALARM, INSUFFICIENT_DATA). */
export interface AlarmStates {
  states(region: string, names: readonly string[]): Promise<Map<string, string>>;
}

/** AlarmStates over the AWS SDK's CloudWatch client, one client per region. */
export class CloudWatchAlarmStates implements AlarmStates {
  private readonly clients = new Map<string, Pick<CloudWatchClient, 'send'>>();

  constructor(private readonly clientFor: (region: string) => Pick<CloudWatchClient, 'send'> = (region) => new CloudWatchClient({ region })) {}

  async states(region: string, names: readonly string[]): Promise<Map<string, string>> {
    let client = this.clients.get(region);
    if (!client) this.clients.set(region, (client = this.clientFor(region)));
    const states = new Map<string, string>();
    // DescribeAlarms takes at most 100 names a call.
    for (let i = 0; i < names.length; i += 100) {
      const answer = await client.send(new DescribeAlarmsCommand({ AlarmNames: names.slice(i, i + 100), AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }));
      for (const alarm of [...(answer.MetricAlarms ?? []), ...(answer.CompositeAlarms ?? [])]) {
        if (alarm.AlarmName && alarm.StateValue) states.set(alarm.AlarmName, alarm.StateValue);
      }
    }
    return states;
  }
}

export async function measureAlarms(source: AlarmStates, region: string, names: readonly string[]): Promise<Measurement> {
  let states: Map<string, string>;
  try {
    states = await source.states(region, names);
  } catch (error) {
    return { error: `CloudWatch did not answer: ${(error as Error).message}` };
  }
  const missing = names.filter((name) => !states.has(name));
  if (missing.length) return { error: `no CloudWatch alarm named ${missing.join(', ')} in ${region}` };
  const firing = names.filter((name) => states.get(name) === 'ALARM');
  return firing.length ? { failure: `in ALARM: ${firing.join(', ')}` } : { value: 0, passed: true };
}
