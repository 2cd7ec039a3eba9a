// How times, durations and statuses read on the page.
export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');

export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function operationMs(op: { startedAt: string | null; finishedAt: string | null }): number | undefined {
  return op.startedAt && op.finishedAt ? Date.parse(op.finishedAt) - Date.parse(op.startedAt) : undefined;
}

export const words = (status: string) => status.replace(/_/g, ' ');

export const PIPELINE = ['development', 'testing', 'staging', 'production'];
