// Prometheus text exposition format: https://prometheus.io/docs/instrumenting/exposition_formats/
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

interface Series {
  count: number;
  errors: number;
  sum: number;
  buckets: number[];
}

/** Requests, latencies and errors per handler (`command:/runbook`, `action:checklist:tick:…`, `event:app_home_opened`). */
export class Metrics {
  private series = new Map<string, Series>();

  observe(handler: string, seconds: number, failed: boolean): void {
    let s = this.series.get(handler);
    if (!s) this.series.set(handler, (s = { count: 0, errors: 0, sum: 0, buckets: BUCKETS.map(() => 0) }));
    s.count++;
    s.sum += seconds;
    if (failed) s.errors++;
    BUCKETS.forEach((le, i) => {
      if (seconds <= le) s.buckets[i]!++;
    });
  }

  /** The metrics in Prometheus text format. */
  render(): string {
    const lines = [
      '# HELP preflight_requests_total Slack requests handled, by handler.',
      '# TYPE preflight_requests_total counter',
    ];
    const label = (h: string) => `handler="${h.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, ' ')}"`;
    for (const [h, s] of this.series) lines.push(`preflight_requests_total{${label(h)}} ${s.count}`);
    lines.push('# HELP preflight_request_errors_total Slack requests whose handler failed.', '# TYPE preflight_request_errors_total counter');
    for (const [h, s] of this.series) lines.push(`preflight_request_errors_total{${label(h)}} ${s.errors}`);
    lines.push('# HELP preflight_request_duration_seconds Handler latency.', '# TYPE preflight_request_duration_seconds histogram');
    for (const [h, s] of this.series) {
      BUCKETS.forEach((le, i) => lines.push(`preflight_request_duration_seconds_bucket{${label(h)},le="${le}"} ${s.buckets[i]}`));
      lines.push(`preflight_request_duration_seconds_bucket{${label(h)},le="+Inf"} ${s.count}`);
      lines.push(`preflight_request_duration_seconds_sum{${label(h)}} ${s.sum}`);
      lines.push(`preflight_request_duration_seconds_count{${label(h)}} ${s.count}`);
    }
    const mem = process.memoryUsage();
    lines.push('# HELP process_resident_memory_bytes Resident memory.', '# TYPE process_resident_memory_bytes gauge', `process_resident_memory_bytes ${mem.rss}`);
    return `${lines.join('\n')}\n`;
  }
}
