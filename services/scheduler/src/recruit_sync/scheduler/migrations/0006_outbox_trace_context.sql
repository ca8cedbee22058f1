-- The trace an outbox row was written in (W3C traceparent/tracestate headers; null when tracing is off):
-- the relay publishes the row's event inside it, so the event stays in its run's trace (runtime.outbox).
ALTER TABLE outbox ADD COLUMN trace_context jsonb;
