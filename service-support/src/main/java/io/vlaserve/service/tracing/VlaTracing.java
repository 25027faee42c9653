package io.vlaserve.service.tracing;

import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SdkTracerProviderBuilder;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import java.util.HashMap;
import java.util.Map;

/**
 * OpenTelemetry for one service, and W3C Trace Context carried in messages.
 *
 * <p>The suite's streams are long-lived (a robot's session lasts minutes), so a control step's
 * trace context cannot ride in gRPC metadata, which is sent once per call: each message that
 * belongs to a step carries it in a {@code trace_context} map ({@code traceparent},
 * {@code tracestate}), and each service continues the step's trace from there. One control step
 * (observation at the gateway, inference at the policy, the chunk at the bridge) is one trace.
 * Thread-safe.
 */
public final class VlaTracing implements AutoCloseable {
  private static final TextMapGetter<Map<String, String>> MAP_GETTER = new TextMapGetter<>() {
    @Override
    public Iterable<String> keys(Map<String, String> carrier) {
      return carrier.keySet();
    }

    @Override
    public String get(Map<String, String> carrier, String key) {
      return carrier == null ? null : carrier.get(key);
    }
  };

  private final OpenTelemetrySdk sdk;
  private final Tracer tracer;

  /**
   * @param serviceName the {@code service.name} resource attribute, e.g. "policy-service"
   * @param exporter where spans go; null exports nothing
   * @param batch export in batches (services) rather than one by one (tests)
   */
  public VlaTracing(String serviceName, SpanExporter exporter, boolean batch, double sampleRatio) {
    SdkTracerProviderBuilder provider = SdkTracerProvider.builder()
        .setResource(Resource.getDefault().merge(Resource.create(
            Attributes.of(AttributeKey.stringKey("service.name"), serviceName))))
        .setSampler(Sampler.parentBased(Sampler.traceIdRatioBased(sampleRatio)));
    if (exporter != null) {
      provider.addSpanProcessor(batch ? BatchSpanProcessor.builder(exporter).build() : SimpleSpanProcessor.create(exporter));
    }
    this.sdk = OpenTelemetrySdk.builder().setTracerProvider(provider.build()).build();
    this.tracer = sdk.getTracer("io.vlaserve");
  }

  /** The tracer for this service's spans. */
  public Tracer tracer() {
    return tracer;
  }

  /** The trace context to put in a message's {@code trace_context} map; empty if none is active. */
  public Map<String, String> inject(Context context) {
    Map<String, String> carrier = new HashMap<>(4);
    W3CTraceContextPropagator.getInstance().inject(context, carrier, Map::put);
    return carrier;
  }

  /** The context a message's {@code trace_context} map carries (the root context if it carries none). */
  public Context extract(Map<String, String> carrier) {
    if (carrier == null || carrier.isEmpty()) {
      return Context.root();
    }
    return W3CTraceContextPropagator.getInstance().extract(Context.root(), carrier, MAP_GETTER);
  }

  /** Flushes and stops exporting. */
  @Override
  public void close() {
    sdk.getSdkTracerProvider().forceFlush().join(5, java.util.concurrent.TimeUnit.SECONDS);
    sdk.close();
  }
}
