// Loading data for a view, and showing a failure in words.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api.js';

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  reload: () => void;
}

export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[], refreshMs?: number): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  useEffect(() => {
    const controller = new AbortController();
    load(controller.signal).then((value) => { setData(value); setError(undefined); }, (failure: Error) => {
      if (failure.name !== 'AbortError') setError(wordsFor(failure));
    });
    const timer = refreshMs ? setTimeout(reload, refreshMs) : undefined;
    return () => { controller.abort(); clearTimeout(timer); };
  }, [...deps, tick]);
  return { data, error, reload };
}

export const wordsFor = (failure: unknown) => (failure instanceof ApiError ? failure.message : 'Something went wrong in the page. Reload it and try again.');

export function Failure({ message }: { message: string | undefined }) {
  return message ? <p class="failure" role="alert">{message}</p> : null;
}

export function Loading({ what, children }: { what: string; children?: ComponentChildren }) {
  return <p class="muted" aria-live="polite">{children ?? `Loading ${what}…`}</p>;
}

/** A button that runs an action, shows it running, and shows its failure in words. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const run = async <T,>(action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(undefined);
    try {
      return await action();
    } catch (failure) {
      setError(wordsFor(failure));
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}
