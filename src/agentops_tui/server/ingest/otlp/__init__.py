"""OTLP/HTTP traces: decoding, span bookkeeping and mapping spans to fleet events."""
