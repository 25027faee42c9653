package io.vlaserve.policy.batching;

import io.vlaserve.policy.PolicyRequest;
import io.vlaserve.policy.PolicyResult;
import io.vlaserve.policy.VlaPolicy;
import io.vlaserve.policy.batching.BatchingListener.DropReason;
import io.vlaserve.policy.batching.BatchingListener.Phase;
import io.vlaserve.policy.decode.MaskedSampler;
import io.vlaserve.policy.engine.EngineException;
import io.vlaserve.policy.engine.HostKvCache;
import io.vlaserve.policy.engine.KvCache;
import io.vlaserve.policy.engine.PromptBatch;
import io.vlaserve.policy.engine.VlaEngine;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.policy.decode.ActionDecoder;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * Continuous batching for a VLA policy: requests from many robots are decoded together, one token
 * per sequence per step, and sequences join (after a batched prefill) and leave (when their chunk is
 * complete) between decode steps, as LLM servers do.
 *
 * <p>Memory is allocated once at start and reused: one batch KV cache for {@code maxBatchSize}
 * sequences, and as many slots where the prefill thread leaves each joiner's prompt keys and values.
 * In the batch cache each sequence keeps its own length, right-aligned (positions before its own are
 * masked, position ids are its own), so a decode step appends to every row in place and the graph's
 * output is the next step's input: nothing is copied between steps unless a sequence joined or left,
 * and then the cache is laid out once anew. The scheduler allocates nothing per decode step; the
 * ONNX Runtime binding allocates small tensor handles and result maps per graph run (never cache
 * memory).
 * Each sequence samples with its own seeded generator, so a request gets the same chunk alone or in
 * any batch.
 *
 * <p>Waiting requests are kept per robot and admitted round-robin across robots, so one chatty robot
 * cannot starve the others. Queues are bounded (overall and per robot): a full queue refuses with
 * {@link RejectedException.Overloaded} and a retry delay. A request whose deadline passes while it
 * waits is dropped with {@link RejectedException.DeadlineExceeded} before any compute. A request of a
 * session replaces that session's waiting request, which ends {@link RejectedException.Superseded};
 * a session has at most one request computing, so its next one waits (and can be superseded) until
 * the current one is done.
 *
 * <p>Prefill runs on a thread of its own, overlapping the decode steps of the running batch (on a
 * second core the image encoder's work does not stall decoding); a prefilled group joins the batch
 * at the next step, and the next group is admitted as soon as the prefill thread is free (by the
 * thread that submits, finishes a prefill or frees a slot, not only between decode steps), so
 * joiners that arrive during a prefill are prefilled together.
 *
 * <p>Neither thread dies of a failure: any {@link Throwable} from the engine or the scheduler's own work
 * (an {@link OutOfMemoryError} included) fails the requests it touched, with one log line, and the
 * thread goes on with the next ones.
 *
 * <p>Thread-safe: {@link #submit} may be called from any thread; compute runs on the scheduler's two
 * threads, which also complete the futures (attach slow continuations with an executor).
 */
public final class ContinuousBatchScheduler implements AutoCloseable {
  private static final System.Logger log = System.getLogger(ContinuousBatchScheduler.class.getName());

  private final VlaPolicy policy;
  private final VlaEngine engine;
  private final ModelPackage model;
  private final ActionDecoder decoder;
  private final SchedulerConfig config;
  private final LongSupplier clock;
  private final BatchingListener listener;
  private final Thread thread;

  // Queue state, guarded by lock.
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final Condition prefillWanted = lock.newCondition();
  private List<Ticket> prefillJob;
  private final List<Ticket> prefillDone = new ArrayList<>();
  private boolean prefillBusy;
  private final Map<String, ArrayDeque<Ticket>> waitingByRobot = new HashMap<>();
  private final ArrayDeque<String> robotTurns = new ArrayDeque<>();
  private final Map<SessionKey, Ticket> waitingBySession = new HashMap<>();
  private final java.util.Set<SessionKey> computingSessions = new java.util.HashSet<>();
  private int waiting;
  private boolean closed;
  private final int[] freeSlots;
  private int freeCount;

  // Compute state, owned by the scheduler thread.
  private final int dims;
  private final int vocab;
  private final int promptLength;
  private final int capacity;
  private final int layers;
  private final int heads;
  private final int headDim;
  private final int slotFloats;
  private final FloatBuffer slots;
  private final Ticket[] running;
  private int runningCount;
  private boolean membershipChanged;
  private final long[] tokenIds;
  private final long[] positionIds;
  private final float[] attentionMask;
  private final float[] logits;
  private final MaskedSampler sampler;
  // Until an engine's prefill returns a cache we cannot rearrange; never for a parallel-decoding
  // model, whose one pass per group of joiners is the whole chunk (the lockstep path).
  private volatile boolean hostCaches = true;
  private volatile HostKvCache batchCache; // made by the prefill thread from its first cache
  private final Thread prefiller;
  private volatile double smoothedLatencyNanos;

  /**
   * @param clock monotonic nanoseconds (e.g. {@code System::nanoTime}); deadlines are on this clock
   */
  public ContinuousBatchScheduler(VlaPolicy policy, SchedulerConfig config, LongSupplier clock,
      BatchingListener listener) {
    this.policy = policy;
    this.engine = policy.engine();
    this.model = policy.model();
    this.decoder = policy.decoder();
    this.config = config;
    this.clock = clock;
    this.listener = listener;
    this.dims = model.actionDimensions();
    this.vocab = model.vocabSize();
    this.promptLength = model.promptLength();
    this.capacity = promptLength + model.chunkLength() * dims;
    this.layers = model.layers();
    this.heads = model.heads();
    this.headDim = model.headDim();
    int maxBatch = config.maxBatchSize();
    boolean parallel = model.decoding() == ModelPackage.Decoding.PARALLEL;
    this.hostCaches = !parallel;
    this.slotFloats = parallel ? 0 : layers * 2 * heads * capacity * headDim;
    if ((long) slotFloats * maxBatch > Integer.MAX_VALUE / 4) {
      throw new IllegalArgumentException("max batch size " + maxBatch + " needs " + (long) slotFloats * maxBatch * 4
          + " bytes of KV cache slots (expected: under 2 GB)");
    }
    this.slots = ByteBuffer.allocateDirect(slotFloats * maxBatch * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
    this.freeSlots = new int[maxBatch];
    for (int s = 0; s < maxBatch; s++) {
      freeSlots[s] = maxBatch - 1 - s;
    }
    this.freeCount = maxBatch;
    this.running = new Ticket[maxBatch];
    this.tokenIds = new long[maxBatch];
    this.positionIds = new long[maxBatch];
    this.attentionMask = new float[maxBatch * capacity];
    this.logits = new float[maxBatch * vocab];
    this.sampler = decoder.newSampler();
    this.thread = Thread.ofPlatform().name("policy-scheduler").daemon().unstarted(this::run);
    this.prefiller = Thread.ofPlatform().name("policy-prefill").daemon().unstarted(this::prefillLoop);
    prefiller.start();
    thread.start();
  }

  public SchedulerConfig config() {
    return config;
  }

  /** Requests waiting for admission. */
  public int waiting() {
    lock.lock();
    try {
      return waiting;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Queues a request.
   *
   * @param robot whose request it is; admission takes robots in turn
   * @param session the session it belongs to, or null: a session's newer request replaces its waiting one
   * @param deadlineNanos on the scheduler's clock: if still waiting then, the request is dropped
   *     ({@link Long#MAX_VALUE} for none)
   * @return completes with the result (cancelling it while the request waits drops the request
   *     uncomputed; once computing, it finishes and the result is discarded), or exceptionally with a {@link RejectedException}, an
   *     {@link EngineException}, a {@link io.vlaserve.policy.decode.DecodingException} or whatever else the
   *     engine threw (an {@link Error} included)
   * @throws IllegalArgumentException when the request does not fit the model
   * @throws RejectedException.Overloaded when the queue or the robot's share is full
   * @throws RejectedException.ShuttingDown after {@link #close}
   */
  public CompletableFuture<ScheduledResult> submit(String robot, SessionKey session, PolicyRequest request,
      long deadlineNanos) {
    policy.check(request);
    Ticket ticket = new Ticket(robot, session, request, request.chunkLength() * dims,
        decoder.prefixTokens(request.committedPrefix()), deadlineNanos, clock.getAsLong());
    Ticket replaced = null;
    lock.lock();
    try {
      if (closed) {
        throw new RejectedException.ShuttingDown("the policy scheduler is shutting down; retry on another replica");
      }
      if (session != null) {
        replaced = waitingBySession.remove(session);
        if (replaced != null) {
          unqueue(replaced);
        }
      }
      ArrayDeque<Ticket> robotQueue = waitingByRobot.get(robot);
      int robotWaiting = robotQueue == null ? 0 : robotQueue.size();
      if (waiting >= config.maxQueued() || robotWaiting >= config.maxQueuedPerRobot()) {
        if (replaced != null) { // the replaced request keeps its place rather than being lost
          enqueue(replaced);
          waitingBySession.put(session, replaced);
          replaced = null;
        }
        listener.dropped(DropReason.OVERLOAD);
        throw new RejectedException.Overloaded(waiting >= config.maxQueued()
            ? "policy replica overloaded: " + waiting + " requests waiting (limit " + config.maxQueued() + ")"
            : "robot " + robot + " already has " + robotWaiting + " requests waiting (limit "
                + config.maxQueuedPerRobot() + "); wait for their answers", retryAfter());
      }
      enqueue(ticket);
      if (session != null) {
        waitingBySession.put(session, ticket);
      }
      admitIfIdle();
      changed.signal();
    } finally {
      lock.unlock();
    }
    // A caller that gives up (its call was cancelled) cancels the future: the request leaves the
    // queue at the scheduler's next pass and is never computed. Wake the scheduler for it.
    ticket.future.whenComplete((result, failure) -> {
      if (failure instanceof java.util.concurrent.CancellationException) {
        lock.lock();
        try {
          changed.signal();
        } finally {
          lock.unlock();
        }
      }
    });
    if (replaced != null) {
      listener.dropped(DropReason.SUPERSEDED);
      replaced.future.completeExceptionally(new RejectedException.Superseded(
          "a newer request of the same session replaced this one before compute"));
    }
    return ticket.future;
  }

  /** The suggested delay before retrying a refused request: about the time to work through the queue. */
  public Duration retryAfter() {
    double perRequest = smoothedLatencyNanos;
    long estimate = (long) (perRequest * (1 + (double) waiting / config.maxBatchSize()));
    return Duration.ofNanos(Math.max(config.minRetryAfter().toNanos(), estimate));
  }

  private void enqueue(Ticket ticket) {
    ArrayDeque<Ticket> queue = waitingByRobot.computeIfAbsent(ticket.robot, r -> new ArrayDeque<>());
    if (queue.isEmpty()) {
      robotTurns.addLast(ticket.robot);
    }
    queue.addLast(ticket);
    waiting++;
  }

  private void unqueue(Ticket ticket) {
    ArrayDeque<Ticket> queue = waitingByRobot.get(ticket.robot);
    if (queue != null && queue.remove(ticket)) {
      waiting--;
      if (queue.isEmpty()) {
        waitingByRobot.remove(ticket.robot);
        robotTurns.remove(ticket.robot);
      }
    }
  }

  @Override
  public void close() {
    lock.lock();
    try {
      closed = true;
      changed.signalAll();
      prefillWanted.signalAll();
    } finally {
      lock.unlock();
    }
    // Both threads, the prefill one too: the engine may be closed after this returns, and a graph run
    // still in flight on a closed ONNX Runtime session crashes the process (SIGSEGV).
    try {
      thread.join(Duration.ofSeconds(10));
      prefiller.join(Duration.ofSeconds(10));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Whether, after {@link #close}, neither thread of this scheduler can touch the engine any more. */
  public boolean terminated() {
    return !thread.isAlive() && !prefiller.isAlive();
  }

  private void run() {
    List<Ticket> expired = new ArrayList<>();
    List<Ticket> prefilled = new ArrayList<>();
    while (true) {
      expired.clear();
      prefilled.clear();
      boolean stop = awaitWork(expired, prefilled);
      for (Ticket ticket : expired) {
        if (ticket.future.isDone()) { // cancelled by its caller while it waited
          listener.dropped(DropReason.CANCELLED);
          continue;
        }
        listener.dropped(DropReason.DEADLINE);
        ticket.future.completeExceptionally(new RejectedException.DeadlineExceeded("waited "
            + (clock.getAsLong() - ticket.submitted) / 1_000_000 + " ms in the queue and its deadline passed;"
            + " dropped without compute"));
      }
      for (Ticket ticket : prefilled) {
        if (ticket.failure != null) {
          fail(ticket, ticket.failure);
        } else if (ticket.done()) {
          finishOrFail(ticket);
        } else {
          running[runningCount++] = ticket; // joins the batch at this step
          membershipChanged = true;
        }
      }
      if (stop) {
        shutDown();
        return;
      }
      if (runningCount > 0) {
        try {
          decodeStep();
        } catch (Throwable e) {
          // Any failure (an engine exception, even an OutOfMemoryError) fails the requests it touched; the
          // thread lives on and serves the next ones, rather than dying and leaving every request unanswered.
          log.log(Level.ERROR, "Decode step failed; its {0} requests are answered INTERNAL, the scheduler goes on: {1}",
              runningCount, e.toString());
          for (int r = 0; r < runningCount; r++) {
            if (running[r] != null) {
              fail(running[r], e);
              running[r] = null;
            }
          }
          runningCount = 0;
          membershipChanged = true;
        }
      }
    }
  }

  /**
   * Waits until there is something to do: takes prefilled joiners, drops expired requests, and hands
   * the next joiners to the prefill thread when it is idle. True when closing.
   */
  private boolean awaitWork(List<Ticket> expired, List<Ticket> prefilled) {
    lock.lock();
    try {
      while (!closed) {
        if (!prefillDone.isEmpty()) {
          prefilled.addAll(prefillDone);
          prefillDone.clear();
        }
        if (waiting > 0) {
          dropExpired(expired);
        }
        // Slots of prefilled joiners that already finished are freed only by the caller: count them as free.
        int free = freeCount;
        for (Ticket ticket : prefilled) {
          free += ticket.failure != null || ticket.done() ? 1 : 0;
        }
        if (waiting > 0 && !prefillBusy && freeCount > 0) {
          long waited = clock.getAsLong() - oldestWaiting();
          long delay = config.maxQueueDelay().toNanos();
          // A running batch admits whatever waits at once; an idle one may wait a little to prefill more together.
          if (runningCount > 0 || !prefilled.isEmpty() || waiting >= Math.min(free, config.maxPrefillBatch())
              || waited >= delay) {
            admit();
          } else {
            awaitQuietly(delay - waited);
            continue;
          }
        }
        if (runningCount > 0 || !prefilled.isEmpty() || !expired.isEmpty()) {
          return false;
        }
        awaitQuietly(Long.MAX_VALUE);
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Hands waiting requests to the prefill thread at once if it is idle and admission need not wait
   * for more to group (no queue delay, or enough waiting), so admission does not wait for the
   * scheduler thread to finish its decode step. Expired requests are left for the scheduler thread to
   * drop. Under the lock.
   */
  private void admitIfIdle() {
    if (!closed && waiting > 0 && !prefillBusy && freeCount > 0 && (config.maxQueueDelay().isZero()
        || waiting >= Math.min(freeCount, config.maxPrefillBatch()))) {
      admit();
    }
  }

  /**
   * Takes waiting requests robot by robot into free slots and hands them to the prefill thread. A
   * session's request waits while an earlier one of the same session computes (where a newer one can
   * still supersede it). Under the lock.
   */
  private void admit() {
    List<Ticket> joiners = new ArrayList<>();
    long now = clock.getAsLong();
    boolean progress = true;
    while (progress && freeCount > 0 && joiners.size() < config.maxPrefillBatch()) {
      progress = false;
      for (int turns = robotTurns.size(); turns > 0 && freeCount > 0 && joiners.size() < config.maxPrefillBatch();
          turns--) {
        String robot = robotTurns.pollFirst();
        ArrayDeque<Ticket> queue = waitingByRobot.get(robot);
        Ticket ticket = queue.peekFirst();
        if ((ticket.session != null && computingSessions.contains(ticket.session))
            || (ticket.deadline != Long.MAX_VALUE && now - ticket.deadline > 0) || ticket.future.isDone()) {
          // expired and cancelled ones are the scheduler thread's to drop, with their reason
          robotTurns.addLast(robot);
          continue;
        }
        queue.pollFirst();
        if (queue.isEmpty()) {
          waitingByRobot.remove(robot);
        } else {
          robotTurns.addLast(robot); // to the back of the line: the others go first
        }
        waiting--;
        if (ticket.session != null) {
          waitingBySession.remove(ticket.session, ticket);
          computingSessions.add(ticket.session);
        }
        ticket.admitted = now;
        ticket.slot = freeSlots[--freeCount];
        joiners.add(ticket);
        progress = true;
      }
    }
    if (!joiners.isEmpty()) {
      prefillJob = joiners;
      prefillBusy = true;
      prefillWanted.signal();
    }
  }

  /**
   * Frees the ticket's slot and lets its session have its next request admitted, at once if the
   * prefill thread is idle. On the scheduler thread.
   */
  private void release(Ticket ticket) {
    lock.lock();
    try {
      if (ticket.session != null) {
        computingSessions.remove(ticket.session);
      }
      if (ticket.slot >= 0) {
        freeSlots[freeCount++] = ticket.slot;
        ticket.slot = -1;
      }
      admitIfIdle();
    } finally {
      lock.unlock();
    }
  }

  /** The prefill thread: runs each handed-over group of joiners while the scheduler thread keeps decoding. */
  private void prefillLoop() {
    float[] prefillLogits = new float[config.maxBatchSize() * vocab];
    MaskedSampler prefillSampler = decoder.newSampler();
    while (true) {
      List<Ticket> job;
      lock.lock();
      try {
        while (prefillJob == null && !closed) {
          prefillWanted.awaitUninterruptibly();
        }
        if (prefillJob == null) {
          return;
        }
        job = prefillJob;
        prefillJob = null;
      } finally {
        lock.unlock();
      }
      try {
        prefill(job, prefillLogits, prefillSampler);
      } catch (Throwable e) {
        // As for decode steps: the group fails (on the scheduler thread, which frees its slots), this thread goes on.
        log.log(Level.ERROR, "Prefill failed; its {0} requests are answered INTERNAL, the scheduler goes on: {1}",
            job.size(), e.toString());
        for (Ticket ticket : job) {
          ticket.failure = e;
        }
      }
      lock.lock();
      try {
        prefillDone.addAll(job);
        prefillBusy = false;
        admitIfIdle(); // the next group starts now, not when the scheduler thread ends its decode step
        changed.signal();
      } finally {
        lock.unlock();
      }
    }
  }

  private void awaitQuietly(long nanos) {
    try {
      if (nanos == Long.MAX_VALUE) {
        changed.await();
      } else {
        changed.awaitNanos(nanos);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      closed = true;
    }
  }

  private long oldestWaiting() {
    long oldest = Long.MAX_VALUE;
    for (ArrayDeque<Ticket> queue : waitingByRobot.values()) {
      oldest = Math.min(oldest, queue.peekFirst().submitted);
    }
    return oldest;
  }

  private void dropExpired(List<Ticket> expired) {
    long now = clock.getAsLong();
    for (Iterator<Map.Entry<String, ArrayDeque<Ticket>>> queues = waitingByRobot.entrySet().iterator();
        queues.hasNext(); ) {
      Map.Entry<String, ArrayDeque<Ticket>> entry = queues.next();
      for (Iterator<Ticket> tickets = entry.getValue().iterator(); tickets.hasNext(); ) {
        Ticket ticket = tickets.next();
        if ((ticket.deadline != Long.MAX_VALUE && now - ticket.deadline > 0) || ticket.future.isDone()) {
          tickets.remove();
          waiting--;
          if (ticket.session != null) {
            waitingBySession.remove(ticket.session, ticket);
          }
          expired.add(ticket);
        }
      }
      if (entry.getValue().isEmpty()) {
        robotTurns.remove(entry.getKey());
        queues.remove();
      }
    }
  }

  private void shutDown() {
    try {
      prefiller.join(Duration.ofSeconds(10)); // it finishes its group, then sees the flag
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    List<Ticket> left = new ArrayList<>();
    lock.lock();
    try {
      waitingByRobot.values().forEach(left::addAll);
      waitingByRobot.clear();
      robotTurns.clear();
      waitingBySession.clear();
      waiting = 0;
      left.addAll(prefillDone);
      prefillDone.clear();
      if (prefillJob != null) {
        left.addAll(prefillJob);
        prefillJob = null;
      }
    } finally {
      lock.unlock();
    }
    for (int r = 0; r < runningCount; r++) {
      left.add(running[r]);
    }
    runningCount = 0;
    for (Ticket ticket : left) {
      listener.dropped(DropReason.SHUTDOWN);
      ticket.future.completeExceptionally(new RejectedException.ShuttingDown(
          "the policy scheduler shut down before this request finished; retry on another replica"));
    }
    if (batchCache != null) {
      batchCache.close();
    }
  }

  private void fail(Ticket ticket, Throwable cause) {
    release(ticket);
    listener.dropped(DropReason.FAILED);
    ticket.future.completeExceptionally(cause);
  }

  /** Finishes a ticket whose tokens are all sampled; a failure while decoding them fails it alone. */
  private void finishOrFail(Ticket ticket) {
    try {
      finish(ticket);
    } catch (Throwable e) {
      log.log(Level.ERROR, "Finishing a request failed; it is answered INTERNAL, the scheduler goes on: {0}",
          e.toString());
      if (!ticket.future.isDone()) {
        fail(ticket, e);
      }
    }
  }

  /**
   * Prefills the joiners together, moves their prompts' keys and values into their slots and samples
   * their first token. On the prefill thread; the slots it writes belong to these joiners alone.
   */
  private void prefill(List<Ticket> joiners, float[] prefillLogits, MaskedSampler prefillSampler) {
    int count = joiners.size();
    int pixels = model.imageBytes();
    byte[] images = new byte[count * pixels];
    long[] instructions = new long[count * model.text().maxTokens()];
    float[] proprio = new float[count * model.proprioNames().size()];
    for (int j = 0; j < count; j++) {
      Ticket ticket = joiners.get(j);
      policy.writePrompt(j, ticket.request, images, instructions, proprio);
      listener.admitted(ticket.admitted - ticket.submitted);
    }
    if (!hostCaches) {
      lockstep(joiners);
      return;
    }
    long started = clock.getAsLong();
    KvCache cache = engine.prefill(new PromptBatch(count, images, instructions, proprio), prefillLogits, 0);
    long prefillNanos = clock.getAsLong() - started;
    listener.batchRun(Phase.PREFILL, count, prefillNanos);
    try (cache) {
      if (!(cache instanceof HostKvCache host)) {
        hostCaches = false;
        lockstep(joiners);
        return;
      }
      if (batchCache == null) {
        batchCache = host.newCache(config.maxBatchSize(), capacity);
      }
      FloatBuffer prompts = host.keysAndValues();
      int span = promptLength * headDim;
      for (int j = 0; j < count; j++) {
        Ticket ticket = joiners.get(j);
        int slotBase = ticket.slot * slotFloats;
        for (int kv = 0; kv < layers * 2; kv++) {
          for (int h = 0; h < heads; h++) {
            int from = ((kv * count + j) * heads + h) * span;
            int to = slotBase + (kv * heads + h) * capacity * headDim;
            slots.put(to, prompts, from, span);
          }
        }
        ticket.length = promptLength;
      }
    }
    for (int j = 0; j < count; j++) {
      Ticket ticket = joiners.get(j);
      ticket.prefillNanos = prefillNanos;
      ticket.engineNanos = prefillNanos;
      ticket.largestBatch = count;
      ticket.prefilled = clock.getAsLong();
      try {
        sample(ticket, prefillLogits, j, prefillSampler);
      } catch (RuntimeException e) {
        ticket.failure = e; // e.g. unusable logits for this sequence: the others go on
      }
    }
    listener.tokens(count);
  }

  /**
   * For engines whose caches live where the scheduler cannot rearrange them (TensorRT on the GPU):
   * the group is decoded on its own, in lockstep, on the prefill thread. Queueing, fairness, deadlines
   * and overload work the same; sequences just cannot join a batch already decoding.
   */
  private void lockstep(List<Ticket> joiners) {
    List<PolicyRequest> requests = new ArrayList<>(joiners.size());
    for (Ticket ticket : joiners) {
      requests.add(ticket.request);
    }
    long started = clock.getAsLong();
    List<PolicyResult> results = policy.infer(requests);
    listener.batchRun(Phase.PREFILL, joiners.size(), clock.getAsLong() - started);
    for (int j = 0; j < joiners.size(); j++) {
      Ticket ticket = joiners.get(j);
      PolicyResult result = results.get(j);
      // The result holds the steps after the committed prefix; the ticket, the whole chunk.
      int forced = ticket.forced.length;
      System.arraycopy(ticket.forced, 0, ticket.tokens, 0, forced);
      System.arraycopy(result.tokens(), 0, ticket.tokens, forced, result.tokens().length);
      System.arraycopy(result.logProbabilities(), 0, ticket.logProbabilities, forced, result.tokens().length);
      ticket.produced = ticket.tokens.length;
      ticket.prefillNanos = result.prefillNanos();
      ticket.engineNanos = result.prefillNanos() + result.decodeNanos();
      ticket.largestBatch = joiners.size();
      ticket.prefilled = started + result.prefillNanos();
    }
    listener.tokens(joiners.stream().mapToInt(ticket -> ticket.tokens.length).sum());
  }

  /**
   * One token for every running sequence, each at its own length. Rows are right-aligned in the batch
   * cache (positions before a row's own are masked), so the position a decode step appends to every
   * row directly follows that row's earlier ones: as long as no sequence joins or leaves, the graph's
   * output is the next step's input and nothing is copied.
   */
  private void decodeStep() {
    if (membershipChanged) {
      relayout();
    }
    int batch = runningCount;
    int length = batchCache.length();
    int row = length + 1;
    for (int r = 0; r < batch; r++) {
      Ticket ticket = running[r];
      tokenIds[r] = ticket.nextToken;
      positionIds[r] = ticket.length;
      int padding = length - ticket.length;
      Arrays.fill(attentionMask, r * row, r * row + padding, 0f);
      Arrays.fill(attentionMask, r * row + padding, (r + 1) * row, 1f);
    }
    long started = clock.getAsLong();
    engine.decode(batchCache, tokenIds, positionIds, attentionMask, logits);
    long stepNanos = clock.getAsLong() - started;
    listener.batchRun(Phase.DECODE, batch, stepNanos);
    int kept = 0;
    for (int r = 0; r < batch; r++) {
      Ticket ticket = running[r];
      ticket.length++;
      ticket.engineNanos += stepNanos;
      ticket.largestBatch = Math.max(ticket.largestBatch, batch);
      running[r] = null;
      if (sampled(ticket, r)) {
        running[kept++] = ticket; // order among sequences does not matter: rows are independent
      }
    }
    membershipChanged |= kept != batch;
    runningCount = kept;
    listener.tokens(batch);
  }

  /**
   * Lays the batch cache out anew for the running sequences: those already in it keep their positions
   * (moved to their new row), joiners bring their prompt from their slot; every row right-aligned.
   */
  private void relayout() {
    FloatBuffer old = batchCache.keysAndValues();
    int oldBatch = batchCache.batchSize();
    int oldLength = batchCache.length();
    int batch = runningCount;
    int length = 0;
    for (int r = 0; r < batch; r++) {
      length = Math.max(length, running[r].length);
    }
    FloatBuffer past = batchCache.reshape(batch, length);
    for (int r = 0; r < batch; r++) {
      Ticket ticket = running[r];
      int span = ticket.length * headDim;
      for (int kv = 0; kv < layers * 2; kv++) {
        for (int h = 0; h < heads; h++) {
          int to = (((kv * batch + r) * heads + h) * length + length - ticket.length) * headDim;
          if (ticket.row >= 0) {
            past.put(to, old, (((kv * oldBatch + ticket.row) * heads + h) * oldLength + oldLength - ticket.length)
                * headDim, span);
          } else {
            past.put(to, slots, ticket.slot * slotFloats + (kv * heads + h) * capacity * headDim, span);
          }
        }
      }
      ticket.row = r;
    }
    membershipChanged = false;
  }

  /** Samples the ticket's next token; true while it needs more decode steps. */
  private boolean sampled(Ticket ticket, int row) {
    try {
      sample(ticket, logits, row, sampler);
    } catch (RuntimeException e) {
      fail(ticket, e); // e.g. unusable logits for this sequence: the others go on
      return false;
    }
    if (ticket.done()) {
      finishOrFail(ticket);
      return false;
    }
    return true;
  }

  private void sample(Ticket ticket, float[] rowLogits, int row, MaskedSampler rowSampler) {
    int index = ticket.produced;
    if (index < ticket.forced.length) {
      decoder.force(rowSampler, rowLogits, row * vocab, index, ticket.request.sampling(), ticket.forced[index]);
    } else {
      decoder.sample(rowSampler, rowLogits, row * vocab, index, ticket.request.sampling(), ticket.random);
    }
    ticket.tokens[index] = rowSampler.token();
    ticket.logProbabilities[index] = (float) rowSampler.logProbability();
    ticket.nextToken = rowSampler.token();
    ticket.produced++;
  }

  private void finish(Ticket ticket) {
    release(ticket);
    long decoded = clock.getAsLong();
    double[][] actions = decoder.actions(ticket.tokens, ticket.request.chunkLength());
    long finished = clock.getAsLong();
    PolicyResult result = policy.afterPrefix(ticket.request, actions, ticket.tokens, ticket.logProbabilities,
        ticket.prefillNanos, decoded - ticket.prefilled, finished - decoded);
    long latency = finished - ticket.submitted;
    double smoothed = smoothedLatencyNanos;
    smoothedLatencyNanos = smoothed == 0 ? latency : smoothed + 0.05 * (latency - smoothed);
    ticket.future.complete(new ScheduledResult(result, ticket.admitted - ticket.submitted, ticket.engineNanos,
        ticket.largestBatch));
  }

  /** A queued or running request; its decode state is touched only by the scheduler thread. */
  private static final class Ticket {
    final String robot;
    final SessionKey session;
    final PolicyRequest request;
    final long deadline;
    final long submitted;
    final CompletableFuture<ScheduledResult> future = new CompletableFuture<>();
    final int[] tokens;
    final float[] logProbabilities;
    /** The committed prefix's tokens, taken as the chunk's first ones instead of sampled. */
    final int[] forced;
    final SplittableRandom random;
    long admitted;
    long prefilled;
    long prefillNanos;
    long engineNanos;
    int largestBatch;
    int slot = -1;
    int row = -1; // in the batch cache; -1 until its first step (its prompt is still in its slot)
    Throwable failure;
    int length;
    int produced;
    long nextToken;

    Ticket(String robot, SessionKey session, PolicyRequest request, int count, int[] forced, long deadline,
        long submitted) {
      this.forced = forced;
      this.robot = robot;
      this.session = session;
      this.request = request;
      this.deadline = deadline;
      this.submitted = submitted;
      this.tokens = new int[count];
      this.logProbabilities = new float[count];
      this.random = new SplittableRandom(request.sampling().seed());
    }

    boolean done() {
      return produced == tokens.length;
    }
  }
}
