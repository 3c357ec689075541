#!/usr/bin/python3
"""make_dashboard.py - writes deploy/grafana/correo.json, the correod Grafana dashboard.

The dashboard is generated so every panel has the same shape and every query uses only
metric names from metrics/CATALOGUE.md (tests/deploy checks that against a live scrape).
Run after changing a panel: deploy/grafana/make_dashboard.py
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
SEL = 'instance=~"$instance"'

ROWS = [
    ("Throughput", [
        ("Messages accepted, received, rejected /s", "ops", [
            ('sum(rate(correo_messages_accepted_total{%s}[5m]))' % SEL, "accepted"),
            ('sum(rate(correo_messages_received_total{%s}[5m]))' % SEL, "received"),
            ('sum(rate(correo_messages_rejected_total{%s}[5m]))' % SEL, "rejected"),
        ]),
        ("Bytes received /s", "Bps", [('sum(rate(correo_received_bytes_total{%s}[5m]))' % SEL, "bytes")]),
        ("Connections open by listener", "short", [
            ('sum by (listener) (correo_connections_open{%s})' % SEL, "{{listener}}")]),
        ("SMTP replies by class /s", "ops", [
            ('sum by (class) (rate(correo_smtp_replies_total{%s}[5m]))' % SEL, "{{class}}")]),
    ]),
    ("Rejections", [
        ("Connections rejected by reason /s", "ops", [
            ('sum by (reason) (rate(correo_connections_rejected_total{%s}[5m]))' % SEL, "{{reason}}")]),
        ("Messages rejected by reason /s", "ops", [
            ('sum by (reason) (rate(correo_messages_rejected_total{%s}[5m]))' % SEL, "{{reason}}")]),
    ]),
    ("Queue", [
        ("Queue depth by state", "short", [('sum by (state) (correo_queue_messages{%s})' % SEL, "{{state}}")]),
        ("Oldest queued message", "s", [('max(correo_queue_oldest_message_age_seconds{%s})' % SEL, "oldest")]),
        ("Group commit batch size (mean)", "short", [
            ('sum(rate(correo_spool_commit_batch_size_sum{%s}[5m])) / sum(rate(correo_spool_commit_batch_size_count{%s}[5m]))'
             % (SEL, SEL), "messages per fsync")]),
        ("Spool commit failures /s", "ops", [
            ('sum(rate(correo_spool_commit_failures_total{%s}[5m]))' % SEL, "failed batches")]),
    ]),
    ("Delivery", [
        ("Deliveries by result /s", "ops", [
            ('sum by (result) (rate(correo_deliveries_total{%s}[5m]))' % SEL, "{{result}}")]),
        ("Deliveries by domain and result /s", "ops", [
            ('sum by (domain, result) (rate(correo_deliveries_total{%s}[5m]))' % SEL, "{{domain}} {{result}}")]),
        ("DSNs generated /s", "ops", [
            ('sum by (action) (rate(correo_dsn_generated_total{%s}[5m]))' % SEL, "{{action}}")]),
        ("Outbound connections and reuse", "ops", [
            ('sum(rate(correo_outbound_connections_total{%s}[5m]))' % SEL, "connections opened"),
            ('sum(rate(correo_outbound_connections_reused_total{%s}[5m]))' % SEL, "transactions on reused connections"),
            ('sum(rate(correo_outbound_transactions_total{%s}[5m]))' % SEL, "transactions"),
        ]),
        ("Messages in delivery", "short", [('sum(correo_delivery_in_flight_messages{%s})' % SEL, "in flight")]),
    ]),
    ("Latency", [
        ("End of data -> 250 (commit)", "s", [
            ('histogram_quantile(0.5, sum by (le) (rate(correo_message_commit_duration_seconds_bucket{%s}[5m])))' % SEL, "p50"),
            ('histogram_quantile(0.99, sum by (le) (rate(correo_message_commit_duration_seconds_bucket{%s}[5m])))' % SEL, "p99"),
        ]),
        ("Queue fsync", "s", [
            ('histogram_quantile(0.5, sum by (le) (rate(correo_spool_fsync_duration_seconds_bucket{%s}[5m])))' % SEL, "p50"),
            ('histogram_quantile(0.99, sum by (le) (rate(correo_spool_fsync_duration_seconds_bucket{%s}[5m])))' % SEL, "p99"),
        ]),
        ("Arrival -> delivered", "s", [
            ('histogram_quantile(0.5, sum by (le) (rate(correo_delivery_latency_seconds_bucket{%s}[15m])))' % SEL, "p50"),
            ('histogram_quantile(0.99, sum by (le) (rate(correo_delivery_latency_seconds_bucket{%s}[15m])))' % SEL, "p99"),
        ]),
        ("Worker event-loop lag", "s", [
            ('histogram_quantile(0.99, sum by (le) (rate(correo_worker_loop_lag_seconds_bucket{%s}[5m])))' % SEL, "p99"),
        ]),
    ]),
    ("TLS and DNS", [
        ("TLS handshakes /s", "ops", [
            ('sum by (direction) (rate(correo_tls_handshakes_total{%s}[5m]))' % SEL, "{{direction}}"),
            ('sum(rate(correo_tls_resumed_total{%s}[5m]))' % SEL, "inbound resumed"),
        ]),
        ("TLS failures by reason /s", "ops", [
            ('sum by (direction, reason) (rate(correo_tls_failures_total{%s}[5m]))' % SEL, "{{direction}} {{reason}}")]),
        ("DNS lookups /s and cache hit ratio", "short", [
            ('sum by (type) (rate(correo_dns_lookups_total{%s}[5m]))' % SEL, "{{type}} lookups/s"),
            ('sum(rate(correo_dns_cache_hits_total{%s}[5m])) / (sum(rate(correo_dns_cache_hits_total{%s}[5m])) '
             '+ sum(rate(correo_dns_lookups_total{%s}[5m])))' % (SEL, SEL, SEL), "cache hit ratio"),
            ('sum(rate(correo_dns_failures_total{%s}[5m]))' % SEL, "temporary failures/s"),
        ]),
        ("DNS lookup latency", "s", [
            ('histogram_quantile(0.99, sum by (le) (rate(correo_dns_lookup_duration_seconds_bucket{%s}[5m])))' % SEL, "p99"),
        ]),
    ]),
]


def panel(pid, title, unit, targets, x, y):
    return {
        "id": pid, "type": "timeseries", "title": title,
        "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
        "targets": [{"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend,
                     "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}}
                    for i, (expr, legend) in enumerate(targets)],
    }


def dashboard():
    panels, pid, y = [], 1, 0
    for row_title, row_panels in ROWS:
        panels.append({"id": pid, "type": "row", "title": row_title, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        pid, y = pid + 1, y + 1
        for i, (title, unit, targets) in enumerate(row_panels):
            panels.append(panel(pid, title, unit, targets, 12 * (i % 2), y + 8 * (i // 2)))
            pid += 1
        y += 8 * ((len(row_panels) + 1) // 2)
    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource",
                      "pluginId": "prometheus", "pluginName": "Prometheus"}],
        "title": "correo relay", "uid": "correo-relay", "schemaVersion": 38, "version": 1,
        "tags": ["correo", "smtp"], "timezone": "utc", "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [
            {"name": "DS_PROMETHEUS", "type": "datasource", "query": "prometheus", "label": "Data source"},
            {"name": "instance", "type": "query", "label": "Instance", "multi": True, "includeAll": True,
             "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
             "query": {"query": "label_values(correo_build_info, instance)", "refId": "instance"},
             "definition": "label_values(correo_build_info, instance)", "refresh": 2},
        ]},
        "annotations": {"list": []},
        "panels": panels,
    }


if __name__ == "__main__":
    with open(os.path.join(HERE, "correo.json"), "w") as f:
        json.dump(dashboard(), f, indent=2)
        f.write("\n")
