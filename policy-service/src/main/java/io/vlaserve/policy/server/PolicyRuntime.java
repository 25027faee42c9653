package io.vlaserve.policy.server;

import io.vlaserve.policy.PolicyRequest;
import io.vlaserve.policy.VlaPolicy;
import io.vlaserve.policy.batching.ContinuousBatchScheduler;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.engine.VlaEngine;
import io.vlaserve.policy.image.ImagePreprocessor;
import io.vlaserve.policy.image.PixelBudget;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.policy.batching.ScheduledResult;
import io.vlaserve.policy.batching.SessionKey;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * The loaded model, its engine and policy, and whether they are warm. Warm-up runs on its own
 * thread after start-up: first the engine, in process; until then inference answers UNAVAILABLE.
 * Then, with {@code vla.policy.warmup-calls}, the serving path ({@link ServingPathWarmup}): inference
 * is answered meanwhile (its own calls are inference), but health reports SERVING only after it.
 * Thread-safe.
 */
@Component
public class PolicyRuntime implements SmartLifecycle, DisposableBean {
  private static final Logger log = LoggerFactory.getLogger(PolicyRuntime.class);

  /** Where the runtime is in its life. */
  public enum State { LOADING, WARMING_UP, WARMING_UP_SERVING_PATH, READY, FAILED, STOPPED }

  private final ModelPackage model;
  private final VlaEngine engine;
  private final VlaPolicy policy;
  private final java.util.List<ImagePreprocessor> images;
  private final ContinuousBatchScheduler scheduler;
  // Answers are sent off the scheduler's thread, so replying to 64 robots never delays the next decode step.
  private final ExecutorService replies = Executors.newVirtualThreadPerTaskExecutor();
  private final int warmupRuns;
  private final org.springframework.beans.factory.ObjectProvider<ServingPathWarmup> servingPathWarmup;
  private final AtomicReference<State> state = new AtomicReference<>(State.LOADING);
  private volatile String failure = "";
  private volatile boolean running;

  public PolicyRuntime(PolicyProperties properties, PolicyMetrics metrics,
      org.springframework.beans.factory.ObjectProvider<VlaEngineDecorator> decorator,
      org.springframework.beans.factory.ObjectProvider<ServingPathWarmup> servingPathWarmup) {
    this.model = ModelPackage.load(properties.resolvedModel());
    VlaEngine selected = EngineSelector.select(properties.engine(), model, properties.threads(), properties.fp16(),
        properties.onnxruntimeCudaDevice());
    this.engine = decorator.getIfAvailable(() -> e -> e).apply(selected);
    this.policy = new VlaPolicy(model, engine);
    // One preprocessor per camera, at its input size; all share one budget of decoded pixels.
    PixelBudget budget = new PixelBudget(properties.maxDecodedPixels(), properties.decodeWait());
    this.images = model.cameras().stream()
        .map(camera -> new ImagePreprocessor(camera.width(), camera.height(), properties.maxImageBytes().toBytes(),
            properties.resizeImages() && camera.resize(), budget, camera.centerCrop()))
        .toList();
    this.scheduler = new ContinuousBatchScheduler(policy, properties.batching().toConfig(), System::nanoTime, metrics);
    metrics.watchQueue(scheduler::waiting);
    this.warmupRuns = properties.warmupRuns();
    this.servingPathWarmup = servingPathWarmup;
    log.info("Loaded model {} {} from {} on {}", model.name(), model.version(), model.directory(), engine.name());
  }

  public ModelPackage model() {
    return model;
  }

  public VlaEngine engine() {
    return engine;
  }

  public VlaPolicy policy() {
    return policy;
  }

  /** Where every inference goes: the continuous-batching scheduler. */
  public ContinuousBatchScheduler scheduler() {
    return scheduler;
  }

  /**
   * Queues a request with the scheduler; the future completes on a reply thread, not the scheduler's.
   *
   * @param deadlineNanos on {@link System#nanoTime()}: dropped with DEADLINE_EXCEEDED if still queued then
   */
  public CompletableFuture<ScheduledResult> submit(String robot, SessionKey session, PolicyRequest request,
      long deadlineNanos) {
    CompletableFuture<ScheduledResult> queued = scheduler.submit(robot, session, request, deadlineNanos);
    return PolicyFrontDoor.cancelling(queued, queued.whenCompleteAsync((result, failure) -> {}, replies));
  }

  /** The first camera's preprocessor: its limits (bytes, resizing, pixel budget) are every camera's. */
  public ImagePreprocessor images() {
    return images.get(0);
  }

  /** The preprocessor of the model's camera {@code index} ({@link ModelPackage#cameras} order). */
  public ImagePreprocessor images(int index) {
    return images.get(index);
  }

  public State state() {
    return state.get();
  }

  public String failure() {
    return failure;
  }

  /** Whether warm-up is over: health reports SERVING. */
  public boolean ready() {
    return state.get() == State.READY;
  }

  /** Whether inference is answered: the engine is warm (the serving path may still be warming up). */
  public boolean accepting() {
    State now = state.get();
    return now == State.READY || now == State.WARMING_UP_SERVING_PATH;
  }

  @Override
  public void start() {
    running = true;
    state.set(State.WARMING_UP);
    Thread.ofPlatform().name("policy-warmup").daemon().start(this::warmUp);
  }

  private void warmUp() {
    try {
      byte[] frame = new byte[model.imageBytes()];
      float[] proprio = new float[model.proprioNames().size()];
      String instruction = model.skills().isEmpty() ? "" : model.skills().get(0);
      long started = System.nanoTime();
      PolicyRequest request = new PolicyRequest(frame, instruction, proprio, model.chunkLength(), SamplingParams.GREEDY);
      for (int i = 0; i < warmupRuns; i++) {
        scheduler.submit("warm-up", null, request, Long.MAX_VALUE).join();
      }
      log.info("Engine warm-up done: {} inferences in {} ms", warmupRuns, (System.nanoTime() - started) / 1_000_000);
      ServingPathWarmup serving = servingPathWarmup.getIfAvailable();
      if (serving != null && serving.calls() > 0
          && state.compareAndSet(State.WARMING_UP, State.WARMING_UP_SERVING_PATH)) {
        serving.run(model, () -> state.get() == State.WARMING_UP_SERVING_PATH);
      }
      if (state.compareAndSet(State.WARMING_UP, State.READY)
          || state.compareAndSet(State.WARMING_UP_SERVING_PATH, State.READY)) {
        log.info("Warm-up done in {} ms; serving", (System.nanoTime() - started) / 1_000_000);
      }
    } catch (RuntimeException e) {
      failure = e.toString();
      state.set(State.FAILED);
      log.error("Warm-up failed; the service will not report SERVING", e);
    }
  }

  @Override
  public void stop() {
    running = false;
    state.set(State.STOPPED);
  }

  @Override
  public boolean isRunning() {
    return running;
  }

  @Override
  public int getPhase() {
    // Stop after the gRPC server (which stops first at a higher phase), so in-flight calls finish.
    return Integer.MIN_VALUE + 1000;
  }

  @Override
  public void destroy() {
    scheduler.close();
    replies.close();
    if (scheduler.terminated()) {
      engine.close();
    } else {
      // Closing a session under a running graph crashes the JVM; the process is ending anyway.
      log.warn("A graph run is still in progress 10 s after shutdown began; the inference engine is left"
          + " open for the process exit to release");
    }
  }
}
