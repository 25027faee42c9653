package io.vlaserve.service.tracing;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Where a service's spans go.
 *
 * @param exporter {@code none} (the default: spans are made for propagation but not exported),
 *     {@code logging} (one log line per span, for a laptop), or {@code otlp} (OTLP over HTTP to a
 *     collector, e.g. the OpenTelemetry Collector, Jaeger or Tempo)
 * @param otlpEndpoint the collector's traces endpoint, for {@code otlp}
 * @param sampleRatio fraction of control steps traced (parent-based: a step sampled at the gateway
 *     is traced in every service)
 */
@ConfigurationProperties("vla.tracing")
public record TracingProperties(
    @DefaultValue("none") String exporter,
    @DefaultValue("http://localhost:4318/v1/traces") String otlpEndpoint,
    @DefaultValue("1.0") double sampleRatio) {

  public TracingProperties {
    if (!exporter.equals("none") && !exporter.equals("logging") && !exporter.equals("otlp")) {
      throw new IllegalArgumentException("vla.tracing.exporter: '" + exporter + "' (expected none, logging or otlp)");
    }
    if (!(sampleRatio >= 0 && sampleRatio <= 1)) {
      throw new IllegalArgumentException("vla.tracing.sample-ratio: " + sampleRatio + " (expected 0..1)");
    }
  }
}
