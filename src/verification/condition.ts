// A Prometheus query's success condition, as Argo Rollouts' AnalysisTemplate writes it but
// with the comparison only: "< 0.05", ">= 0.99", or "result < 0.05" / "result[0] < 0.05" as
// Argo's own expressions read. One comparison against one number is all a first-sample test
// needs, and unlike an expression language it cannot run anything the caller wrote.
export type Comparison = '<' | '<=' | '>' | '>=' | '==' | '!=';

export interface Condition {
  op: Comparison;
  threshold: number;
  /** As written, for reasons and events. */
  text: string;
}

const PATTERN = /^\s*(?:result(?:\[0\])?\s*)?(<=|>=|==|!=|<|>)\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*$/;

/** The condition, or undefined when it does not parse. */
export function parseCondition(text: string): Condition | undefined {
  const match = PATTERN.exec(text);
  if (!match) return undefined;
  const threshold = Number(match[2]);
  if (!Number.isFinite(threshold)) return undefined;
  return { op: match[1] as Comparison, threshold, text: text.trim() };
}

/** Whether a sample passes. NaN passes nothing (a ratio of 0/0 is not a healthy ratio). */
export function holds(condition: Condition, value: number): boolean {
  const { op, threshold } = condition;
  switch (op) {
    case '<': return value < threshold;
    case '<=': return value <= threshold;
    case '>': return value > threshold;
    case '>=': return value >= threshold;
    case '==': return value === threshold;
    case '!=': return !Number.isNaN(value) && value !== threshold;
  }
}
