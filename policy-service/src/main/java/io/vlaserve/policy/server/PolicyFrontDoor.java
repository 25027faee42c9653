package io.vlaserve.policy.server;

import io.vlaserve.policy.PolicyRequest;
import io.vlaserve.policy.batching.ScheduledResult;
import io.vlaserve.policy.batching.SessionKey;
import io.vlaserve.service.auth.Principal;
import io.vlaserve.service.auth.Role;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.image.ImageFormat;
import io.vlaserve.policy.image.InvalidImageException;
import io.vlaserve.policy.model.ModelPackage;
import java.util.concurrent.CompletableFuture;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.stereotype.Component;

/**
 * The one way into the policy for every protocol: gRPC's unary Infer and its sessions, OpenVLA's
 * {@code POST /act}, and whatever comes next. It checks readiness, turns the frame into the
 * model's input, derives the observation's seed, and queues one {@link PolicyRequest} with the
 * scheduler, which validates it once. It knows no transport: each protocol converts its messages
 * into an {@link Observation} and the {@link Answer} back.
 *
 * <p>gRPC calls arrive on the transport's event loop (see {@link PolicyServiceApplication}) and
 * {@link #submit(Observation, InlineOrOffload)} keeps them there when preprocessing is a no-op (a
 * raw RGB8 frame at the model's size, what robots send): the request reaches the scheduler with no
 * thread hand-off. Frames to decode or resize are preprocessed on a virtual thread instead, so the
 * event loop never waits for a decode or for the pixel budget. Thread-safe.
 */
@Component
public class PolicyFrontDoor implements DisposableBean {
  /** A camera frame as it arrived: encoded (JPEG, PNG) or raw RGB, at any size the model accepts. */
  public record Frame(ImageFormat format, byte[] data, int width, int height) {}

  /**
   * One observation to answer.
   *
   * @param robot whose it is (fairness and quotas are per robot)
   * @param session the session it belongs to, or null for a one-off call
   * @param sequence its number within the session (0 for one-off calls): the seed of its noise
   * @param frames one frame per camera of the model, in {@link ModelPackage#cameras} order
   * @param chunkLength steps wanted, 0 for the model's chunk length
   * @param sampling the call's or session's parameters, before the per-observation seed
   * @param receivedNanos when it arrived, {@link System#nanoTime()}
   * @param deadlineNanos dropped with DEADLINE_EXCEEDED if still queued then, {@link System#nanoTime()}
   * @param committedPrefix the actions the robot executes meanwhile (real-time chunking), empty for none
   */
  public record Observation(String robot, SessionKey session, long sequence, List<Frame> frames, float[] proprio,
      String instruction, int chunkLength, SamplingParams sampling, long receivedNanos, long deadlineNanos,
      double[][] committedPrefix) {

    public Observation {
      frames = List.copyOf(frames);
    }

    /** An observation of a model with one camera. */
    public Observation(String robot, SessionKey session, long sequence, Frame frame, float[] proprio,
        String instruction, int chunkLength, SamplingParams sampling, long receivedNanos, long deadlineNanos,
        double[][] committedPrefix) {
      this(robot, session, sequence, List.of(frame), proprio, instruction, chunkLength, sampling, receivedNanos,
          deadlineNanos, committedPrefix);
    }

    /** An observation of a model with one camera, without a committed prefix. */
    public Observation(String robot, SessionKey session, long sequence, Frame frame, float[] proprio,
        String instruction, int chunkLength, SamplingParams sampling, long receivedNanos, long deadlineNanos) {
      this(robot, session, sequence, List.of(frame), proprio, instruction, chunkLength, sampling, receivedNanos,
          deadlineNanos, new double[0][]);
    }
  }

  /**
   * The scheduler's result and when preprocessing ended and the answer arrived ({@link System#nanoTime()}).
   */
  public record Answer(ScheduledResult scheduled, long preprocessedNanos, long finishedNanos) {}

  private final PolicyRuntime runtime;
  /** The flight recorder, or null when recording is off. */
  private final PolicyRecording recording;
  private final AtomicLong sessions = new AtomicLong();
  // Decoding and resizing, off the transport's event loop; a virtual thread may wait for the pixel budget.
  private final ExecutorService preprocessing = Executors.newVirtualThreadPerTaskExecutor();

  public PolicyFrontDoor(PolicyRuntime runtime, ObjectProvider<PolicyRecording> recording) {
    this.runtime = runtime;
    this.recording = recording.getIfAvailable();
  }

  /**
   * The robot a request queues as, for fairness and quotas: an authenticated robot always as itself
   * (its requests cannot name another: the access check refused them already); else the robot id
   * the caller gives (the gateway, a service, speaks for its robots); else, for an authenticated
   * caller, its identity, so all its anonymous requests share one share; else (insecure) a fresh
   * name from {@code anonymous}.
   *
   * @param requested the request's robot id, empty or null when none
   * @param caller the authenticated caller, null or insecure when there is none
   */
  public static String queueAs(String requested, Principal caller, Supplier<String> anonymous) {
    if (caller != null && caller.role() == Role.ROBOT) {
      return caller.name();
    }
    if (requested != null && !requested.isEmpty()) {
      return requested;
    }
    if (caller != null && !caller.isInsecure()) {
      return caller.toString();
    }
    return anonymous.get();
  }

  /** A key for a new session of {@code robot}, distinct from every other session's. */
  public SessionKey newSession(String robot) {
    return new SessionKey(robot, sessions.incrementAndGet());
  }

  /**
   * Switches {@code robot}'s full recording on or off for one of its sessions (SessionStart.record);
   * nothing when the service does not record.
   */
  void recordSession(String robot, boolean on) {
    if (recording != null) {
      recording.recordSession(robot, on);
    }
  }

  /** The model served. */
  public ModelPackage model() {
    return runtime.model();
  }

  /** Whether inference is answered: the model is loaded and its engine warm. */
  public boolean ready() {
    return runtime.accepting();
  }

  /**
   * Preprocesses one observation and queues it.
   *
   * @throws RuntimeException for an observation refused before queueing (not ready, bad input, overload)
   */
  public CompletableFuture<Answer> submit(Observation observation) {
    if (!runtime.accepting()) {
      throw notReady();
    }
    ModelPackage model = runtime.model();
    byte[] pixels = modelInput(model, observation.frames());
    int steps = observation.chunkLength() == 0 ? model.chunkLength() : observation.chunkLength();
    long preprocessed = System.nanoTime();
    // The one place a stream's seed becomes an observation's: every observation of a session (and
    // every one-off call) draws its own noise, reproducible from (seed, sequence) alone or batched.
    SamplingParams sampling = observation.sampling().forObservation(observation.sequence());
    PolicyRequest request = new PolicyRequest(pixels, observation.instruction(), observation.proprio(), steps, sampling,
        observation.committedPrefix());
    CompletableFuture<ScheduledResult> queued = runtime.submit(observation.robot(), observation.session(), request,
        observation.deadlineNanos());
    CompletableFuture<Answer> answered =
        queued.thenApply(scheduled -> new Answer(scheduled, preprocessed, System.nanoTime()));
    // The service's own calls while it warms its serving path are not a robot's: not recorded.
    if (recording != null && runtime.state() != PolicyRuntime.State.WARMING_UP_SERVING_PATH) {
      answered.whenComplete((answer, failure) -> {
        // What the caller gave up on, or what the scheduler dropped for a newer frame, is not an inference.
        if (!(PolicyStatus.unwrap(failure) instanceof CancellationException)) {
          recording.record(observation, request, observation.receivedNanos(), answer, failure);
        }
      });
    }
    return cancelling(queued, answered);
  }

  /** A new order for one call's observations: see {@link #submit(Observation, InlineOrOffload)}. */
  InlineOrOffload newOrder() {
    return new InlineOrOffload(preprocessing);
  }

  /**
   * Whether preprocessing {@code frame} is a no-op: raw RGB8 at the model's size, neither decoded nor
   * resized. Only such frames are queued on the thread they arrive on.
   */
  boolean preprocessedAsIs(List<Frame> frames) {
    List<ModelPackage.CameraInput> cameras = runtime.model().cameras();
    if (frames.size() != cameras.size()) {
      return false; // refused in preprocessing, off the caller's thread like any other refusal there
    }
    for (int c = 0; c < frames.size(); c++) {
      Frame frame = frames.get(c);
      if (frame.format() != ImageFormat.RGB8 || frame.width() != cameras.get(c).width()
          || frame.height() != cameras.get(c).height() || cameras.get(c).centerCrop() < 1) {
        return false;
      }
    }
    return true;
  }

  /** Every camera's frame preprocessed to its input size, back to back in the model's camera order. */
  private byte[] modelInput(ModelPackage model, List<Frame> frames) {
    List<ModelPackage.CameraInput> cameras = model.cameras();
    if (frames.size() != cameras.size()) {
      throw new IllegalArgumentException(frames.size() + " frames (expected one per camera of the model: "
          + cameras.stream().map(ModelPackage.CameraInput::name).toList() + ")");
    }
    if (frames.size() == 1) {
      Frame frame = frames.get(0);
      return runtime.images(0).toModelInput(frame.format(), frame.data(), frame.width(), frame.height());
    }
    byte[] pixels = new byte[model.imageBytes()];
    int offset = 0;
    for (int c = 0; c < frames.size(); c++) {
      Frame frame = frames.get(c);
      byte[] camera;
      try {
        camera = runtime.images(c).toModelInput(frame.format(), frame.data(), frame.width(), frame.height());
      } catch (InvalidImageException e) {
        throw new InvalidImageException("camera " + cameras.get(c).name() + ": " + e.getMessage());
      }
      System.arraycopy(camera, 0, pixels, offset, camera.length);
      offset += camera.length;
    }
    return pixels;
  }

  /**
   * As {@link #submit(Observation)}, through {@code order}: on the calling thread when the frame needs
   * no preprocessing ({@link #preprocessedAsIs}) and nothing submitted earlier through {@code order}
   * is still being preprocessed, else on a virtual thread after those, so one call's observations
   * reach the scheduler in the order they arrived. Every refusal completes the future exceptionally;
   * cancelling it before its turn skips the observation, after that takes it out of the queue.
   */
  public CompletableFuture<Answer> submit(Observation observation, InlineOrOffload order) {
    CompletableFuture<Answer> answered = new CompletableFuture<>();
    order.execute(() -> {
      if (answered.isDone()) {
        return; // cancelled while it waited its turn
      }
      try {
        CompletableFuture<Answer> queued = submit(observation);
        queued.whenComplete((answer, failure) -> {
          if (failure == null) {
            answered.complete(answer);
          } else {
            answered.completeExceptionally(failure);
          }
        });
        cancelling(queued, answered);
      } catch (RuntimeException e) {
        answered.completeExceptionally(e);
      }
    }, preprocessedAsIs(observation.frames()));
    return answered;
  }

  @Override
  public void destroy() {
    preprocessing.close();
  }

  /**
   * Returns {@code derived}, made so that cancelling it cancels {@code source} too: a caller that
   * gives up (its gRPC call was cancelled) takes its request out of the scheduler's queue.
   */
  static <T> CompletableFuture<T> cancelling(CompletableFuture<?> source, CompletableFuture<T> derived) {
    derived.whenComplete((result, failure) -> {
      if (failure instanceof CancellationException) {
        source.cancel(false);
      }
    });
    return derived;
  }

  /** Why nothing can be computed yet, with what to wait for. */
  public PolicyStatus.NotReadyException notReady() {
    return new PolicyStatus.NotReadyException("model " + runtime.model().name() + " is " + runtime.state()
        + (runtime.failure().isEmpty() ? "" : " (" + runtime.failure() + ")")
        + "; retry when the service is ready (gRPC health SERVING, /actuator/health/readiness UP)");
  }

  /** The runtime, for what only describes it (metadata). */
  PolicyRuntime runtime() {
    return runtime;
  }
}
