// What a run was doing when a test gave up on it: its status, the activities it waits on (with
// their attempts, last failure and the worker that last took them) and the tail of its history.
// A timeout that prints this says which timer or lost task held the run; one that prints only
// "Timed out" leaves the next engineer to reproduce a flake before they can read it.
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const EventType = temporal.api.enums.v1.EventType;
const PendingActivityState = temporal.api.enums.v1.PendingActivityState;

function millis(time: { seconds?: unknown; nanos?: number | null } | null | undefined): number | undefined {
  if (!time?.seconds) return undefined;
  return Number(time.seconds) * 1000 + Math.round((time.nanos ?? 0) / 1e6);
}

function clock(ms: number | undefined): string {
  return ms === undefined ? '?' : new Date(ms).toISOString().slice(11, 23);
}

/** One line per pending activity and per event of the history's last `tail` events. */
export async function runReport(client: Client, workflowId: string, tail = 20): Promise<string> {
  const lines: string[] = [`run ${workflowId}`];
  try {
    const handle = client.workflow.getHandle(workflowId);
    const description = await handle.describe();
    lines.push(`  status ${description.status.name}, history ${description.historyLength} events`);
    for (const activity of description.raw.pendingActivities ?? []) {
      lines.push(
        `  pending ${activity.activityType?.name} attempt ${activity.attempt} ${PendingActivityState[activity.state ?? 0]}` +
          (activity.lastStartedTime ? ` started ${clock(millis(activity.lastStartedTime))} by ${activity.lastWorkerIdentity || '-'}` : ` scheduled ${clock(millis(activity.scheduledTime))}`) +
          (activity.lastFailure?.message ? ` last failure: ${activity.lastFailure.message}` : ''),
      );
    }
    const history = await handle.fetchHistory();
    for (const event of (history.events ?? []).slice(-tail)) {
      const name = EventType[event.eventType ?? 0]?.replace(/^EVENT_TYPE_/, '') ?? String(event.eventType);
      const detail =
        event.activityTaskScheduledEventAttributes?.activityType?.name ??
        event.activityTaskTimedOutEventAttributes?.failure?.message ??
        event.activityTaskFailedEventAttributes?.failure?.message ??
        event.workflowTaskFailedEventAttributes?.failure?.message ??
        event.workflowExecutionSignaledEventAttributes?.signalName ??
        event.markerRecordedEventAttributes?.markerName ??
        (event.timerStartedEventAttributes ? `${Number(event.timerStartedEventAttributes.startToFireTimeout?.seconds ?? 0)} s` : '');
      lines.push(`  ${clock(millis(event.eventTime))} #${event.eventId} ${name}${detail ? ` ${detail}` : ''}`);
    }
  } catch (err) {
    lines.push(`  (could not be read: ${String(err)})`);
  }
  return lines.join('\n');
}
