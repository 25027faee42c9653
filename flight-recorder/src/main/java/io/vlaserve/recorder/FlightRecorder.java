package io.vlaserve.recorder;

import io.vlaserve.recorder.mcap.McapWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A service's flight recorder: what each robot session's messages were, kept two ways.
 *
 * <ul>
 *   <li><b>Always</b>, an in-memory ring of each session's last {@code ringDuration} (30 s by
 *       default), written to an MCAP file by {@link #flushRing} when something goes wrong: a safety
 *       halt, an e-stop, a failed session ("what happened in the last 30 s").
 *   <li><b>On request</b>, a session's full recording ({@link #recordFully}), rotated at {@code
 *       maxFileBytes}.
 * </ul>
 *
 * <p><b>Never blocks a hot path.</b> {@link #record} only adds the message to a bounded queue,
 * without waking anyone; a full queue drops it and counts it ({@link #dropped}). One writer thread,
 * draining the queue every 10 ms, owns the rings and the files, each written under a temporary name
 * ({@code .part}) and renamed once complete. <b>Bounded on disk:</b> after each file, the oldest
 * recordings in the directory are deleted until the directory is within {@code diskBudgetBytes}.
 * Times are nanoseconds since the epoch.
 *
 * <p>Thread-safe.
 */
public final class FlightRecorder implements AutoCloseable {
  private static final DateTimeFormatter STAMP =
      DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss-SSS").withZone(ZoneOffset.UTC);
  private static final Pattern UNSAFE = Pattern.compile("[^A-Za-z0-9._-]");

  /**
   * @param directory where recordings go
   * @param service the recording service's name, first in every file name
   * @param ringDuration how much of each session the ring keeps
   * @param ringBytes the most bytes of message data one session's ring holds (older ones go first)
   * @param queueCapacity messages waiting for the writer before new ones are dropped
   * @param maxFileBytes a full recording moves to a new file past this
   * @param diskBudgetBytes the most bytes of recordings the directory keeps
   */
  public record Options(Path directory, String service, Duration ringDuration, long ringBytes, int queueCapacity,
      long maxFileBytes, long diskBudgetBytes) {
    public Options {
      Objects.requireNonNull(directory, "directory");
      if (ringDuration.isNegative() || ringDuration.isZero() || ringBytes <= 0 || queueCapacity <= 0
          || maxFileBytes <= 0 || diskBudgetBytes <= 0) {
        throw new IllegalArgumentException("flight recorder: every duration, size and capacity must be > 0 ("
            + ringDuration + ", " + ringBytes + ", " + queueCapacity + ", " + maxFileBytes + ", " + diskBudgetBytes + ")");
      }
    }

    /** 30 s rings of up to 64 MiB, 65,536 queued messages, 256 MiB files, 2 GiB on disk. */
    public static Options defaults(Path directory, String service) {
      return new Options(directory, service, Duration.ofSeconds(30), 64L << 20, 65_536, 256L << 20, 2L << 30);
    }
  }

  /** A kind of message: its MCAP topic, schema and encoding. */
  public record Topic(String name, String schemaName, String schemaEncoding, byte[] schema, String messageEncoding) {
    public Topic {
      Objects.requireNonNull(name, "name");
      schema = schema == null ? new byte[0] : schema.clone();
    }
  }

  /**
   * {@code sequence}: the order of offers, so commands apply between exactly the right messages.
   * {@code data}: the message, or null until the writer computes it from {@code encoder}.
   * {@code deferred}: encoded only when written to a file; until then a ring counts it as {@code
   * sizeHint} bytes.
   */
  private record Entry(long sequence, Topic topic, String session, long logTime, byte[] data,
      Supplier<byte[]> encoder, boolean latched, boolean deferred, int sizeHint) {
    Entry encoded() {
      return data != null ? this
          : new Entry(sequence, topic, session, logTime, encoder.get(), null, latched, false, 0);
    }

    /** What it weighs in a ring: its bytes, or the hint while it is not encoded. */
    long bytes() {
      return data != null ? data.length : sizeHint;
    }
  }

  /** {@code after}: the last offer made before the command; it applies after that message, before the next. */
  private sealed interface Command permits FlushRing, Full, Stop {
    long after();
  }

  private record FlushRing(long after, String session, String reason, CompletableFuture<Path> done)
      implements Command {}

  private record Full(long after, String session, boolean on, CompletableFuture<Path> done) implements Command {}

  private record Stop(long after) implements Command {}

  /** One session's recent messages, newest last, and their data's bytes. */
  private static final class Ring {
    final ArrayDeque<Entry> entries = new ArrayDeque<>();
    long bytes;
  }

  /** A session's open full recording. */
  private static final class Recording {
    McapWriter writer;
    Path file;
    final Map<Topic, Integer> channels = new HashMap<>();
    long bytes;
  }

  private final Options options;
  /**
   * Not a blocking queue: an offer never wakes the writer (a system call, tens of microseconds on a
   * busy VM); the writer drains it every {@link #DRAIN_PERIOD_NANOS} instead, in batches.
   */
  private final ConcurrentLinkedQueue<Entry> queue = new ConcurrentLinkedQueue<>();
  private final java.util.concurrent.atomic.AtomicInteger queued = new java.util.concurrent.atomic.AtomicInteger();
  private static final long DRAIN_PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
  private final ConcurrentLinkedQueue<Command> commands = new ConcurrentLinkedQueue<>();
  /** Held while an offer takes its sequence number and enters the queue, so the queue is in sequence order. */
  private final Object offering = new Object();
  /** The last sequence number given; every offer up to it is in the queue, taken or dropped. */
  private volatile long offered;
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong recorded = new AtomicLong();
  private final Map<String, Ring> rings = new HashMap<>();
  /** The writer's: per session, each latched topic's newest message. */
  private final Map<String, Map<Topic, Entry>> latchedMessages = new HashMap<>();
  /** The writer's: the newest log time it has taken, and how many messages, for evicting silent rings. */
  private long newestLogTime = Long.MIN_VALUE;
  private long taken;
  private static final int EVICTION_PERIOD = 4096;
  private volatile int ringCount;
  private final Map<String, Recording> recordings = new HashMap<>();
  private final List<Path> written = new CopyOnWriteArrayList<>();
  /** The writer's: each of its files still on disk, and when it finished it among them. */
  private final Map<Path, Long> writeOrder = new HashMap<>();
  private final AtomicLong filesFinished = new AtomicLong();
  private final Thread writer;
  private volatile boolean stopped;

  /** Starts the writer thread. */
  public FlightRecorder(Options options) throws IOException {
    this.options = options;
    Files.createDirectories(options.directory());
    this.writer = Thread.ofPlatform().daemon().name("flight-recorder-" + options.service()).start(this::run);
  }

  /**
   * Offers one message of {@code session} on {@code topic}; never blocks.
   *
   * @return false if it was dropped (the writer is behind; counted in {@link #dropped})
   */
  public boolean record(Topic topic, String session, long logTime, byte[] data) {
    return offer(topic, session, logTime, Objects.requireNonNull(data, "data"), null, false, false, 0);
  }

  /**
   * Keeps {@code data} as {@code session}'s current message on {@code topic}, outside the ring: it
   * starts every file written for the session from now on (a flushed ring, a full recording and
   * each of its rotations), replacing the topic's previous one, so that a file holds what its
   * messages mean: the limits, the settings in force. Messages offered before are not affected.
   * Kept as long as the recorder runs, so only for a bounded set of sessions (the bridge's robots).
   *
   * @return false if it was dropped (counted in {@link #dropped})
   */
  public boolean latch(Topic topic, String session, long logTime, byte[] data) {
    return offer(topic, session, logTime, Objects.requireNonNull(data, "data"), null, true, false, 0);
  }

  /**
   * As {@link #record(Topic, String, long, byte[])}, with the message encoded on the writer's thread
   * rather than the caller's (an image compressed, a large message serialised): {@code encoder} must
   * only read what does not change after this call. An encoder that throws loses its message,
   * counted in {@link #dropped}.
   */
  public boolean record(Topic topic, String session, long logTime, Supplier<byte[]> encoder) {
    return offer(topic, session, logTime, null, Objects.requireNonNull(encoder, "encoder"), false, false, 0);
  }

  /**
   * As {@link #record(Topic, String, long, Supplier)}, but encoded only if the message is written to
   * a file (its session recorded in full, or its ring flushed): most messages only pass through a
   * ring and are forgotten, so their encoding (a PNG, a large message) would be work thrown away.
   * Until then the ring holds the encoder and counts the message as {@code sizeHint} bytes. So
   * {@code encoder} may run up to a ring duration later: it must hold only what never changes, and
   * as little as it needs (it is what the ring keeps in memory).
   */
  public boolean recordWhenWritten(Topic topic, String session, long logTime, int sizeHint, Supplier<byte[]> encoder) {
    if (sizeHint < 0) {
      throw new IllegalArgumentException("size hint " + sizeHint + " (expected: >= 0)");
    }
    return offer(topic, session, logTime, null, Objects.requireNonNull(encoder, "encoder"), false, true, sizeHint);
  }

  private boolean offer(Topic topic, String session, long logTime, byte[] data, Supplier<byte[]> encoder,
      boolean latched, boolean deferred, int sizeHint) {
    boolean accepted;
    synchronized (offering) {
      long sequence = offered + 1;
      accepted = !stopped && queued.get() < options.queueCapacity();
      if (accepted) {
        queued.incrementAndGet();
        queue.add(new Entry(sequence, topic, session, logTime, data, encoder, latched, deferred, sizeHint));
      }
      offered = sequence; // after the offer: a reader of `offered` finds everything up to it queued
    }
    (accepted ? recorded : dropped).incrementAndGet();
    return accepted;
  }

  /**
   * Writes {@code session}'s ring (its last ring duration) to a new file, e.g. on a safety halt.
   * Messages offered before this call are in it.
   *
   * @return completes with the file, or null if the session has recorded nothing
   */
  public CompletableFuture<Path> flushRing(String session, String reason) {
    return command(new FlushRing(offered, session, reason, new CompletableFuture<>()));
  }

  /**
   * Switches {@code session}'s full recording on (from the messages offered after this call) or off.
   *
   * @return completes with the recording's (current) file once switched (it appears under that name
   *     when complete: rotated or switched off), null when switched off
   */
  public CompletableFuture<Path> recordFully(String session, boolean on) {
    return command(new Full(offered, session, on, new CompletableFuture<>()));
  }

  private CompletableFuture<Path> command(Command command) {
    CompletableFuture<Path> done = switch (command) {
      case FlushRing flush -> flush.done();
      case Full full -> full.done();
      case Stop stop -> new CompletableFuture<>();
    };
    if (stopped) {
      done.completeExceptionally(new IllegalStateException("the flight recorder is closed"));
      return done;
    }
    commands.add(command);
    return done;
  }

  /** Messages dropped because the writer was behind. */
  public long dropped() {
    return dropped.get();
  }

  /** How many sessions' rings the writer holds once it has taken everything offered so far (for tests). */
  int ringsHeld() throws InterruptedException {
    CompletableFuture<Path> probe = flushRing("\u0000probe", "probe");
    try {
      probe.get(30, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException(e);
    }
    return ringCount;
  }

  /** Messages accepted for recording. */
  public long recorded() {
    return recorded.get();
  }

  /** Files this recorder has finished, deleted since or not. */
  public long filesWritten() {
    return filesFinished.get();
  }

  /** The files this recorder has written and not yet deleted for the disk budget, oldest first. */
  public List<Path> files() {
    return List.copyOf(written);
  }

  private void run() {
    while (true) {
      // Every offer up to here is queued, taken or dropped; so once the queue is empty, all are taken
      // or dropped. (A command made after this read may follow offers still queued: it waits.)
      long horizon = offered;
      Entry entry = queue.poll();
      while (entry != null) {
        queued.decrementAndGet();
        // The queue is in sequence order: every offer before this entry's is taken or dropped.
        if (runCommandsBefore(entry.sequence())) {
          return;
        }
        take(entry);
        horizon = offered;
        entry = queue.poll();
      }
      if (runCommandsBefore(horizon + 1)) {
        return;
      }
      if (Thread.interrupted()) {
        closeAll();
        return;
      }
      LockSupport.parkNanos(DRAIN_PERIOD_NANOS);
    }
  }

  /** Runs the pending commands made before offer {@code sequence}; true once stopped. */
  private boolean runCommandsBefore(long sequence) {
    Command command;
    while ((command = commands.peek()) != null && command.after() < sequence) {
      commands.poll();
      if (command instanceof Stop) {
        closeAll();
        return true;
      }
      execute(command);
    }
    return false;
  }

  private void take(Entry queued) {
    Entry entry;
    if (queued.deferred() && !recordings.containsKey(queued.session())) {
      entry = queued; // to the ring only: encoded if it is ever flushed
    } else {
      try {
        entry = queued.encoded();
      } catch (RuntimeException e) {
        dropped.incrementAndGet();
        recorded.decrementAndGet();
        return;
      }
    }
    if (entry.latched()) {
      latchedMessages.computeIfAbsent(entry.session(), s -> new java.util.LinkedHashMap<>()).put(entry.topic(), entry);
      Recording open = recordings.get(entry.session());
      if (open != null) {
        try {
          write(open, entry);
        } catch (IOException e) {
          dropped.incrementAndGet();
        }
      }
      return;
    }
    Ring ring = rings.get(entry.session());
    if (ring == null) {
      ring = new Ring();
      rings.put(entry.session(), ring);
      ringCount = rings.size();
    }
    ring.entries.addLast(entry);
    ring.bytes += entry.bytes();
    long oldest = entry.logTime() - options.ringDuration().toNanos();
    while (!ring.entries.isEmpty()
        && (ring.entries.peekFirst().logTime() < oldest || ring.bytes > options.ringBytes())) {
      ring.bytes -= ring.entries.pollFirst().bytes();
    }
    newestLogTime = Math.max(newestLogTime, entry.logTime());
    if (++taken % EVICTION_PERIOD == 0) {
      evictSilentRings();
    }
    Recording recording = recordings.get(entry.session());
    if (recording != null) {
      try {
        write(recording, entry);
        if (recording.bytes > options.maxFileBytes()) {
          finish(recording);
          start(recording, entry.session(), "full");
          writeLatched(recording, entry.session());
        }
      } catch (IOException e) {
        dropped.incrementAndGet();
      }
    }
  }

  /**
   * Forgets the rings of sessions silent for longer than the ring duration (by the newest log time
   * recorded, not the wall clock): all they hold is older than any flush would keep, and a service
   * that sees many sessions over months must not keep one ring per session forever.
   */
  private void evictSilentRings() {
    long horizon = newestLogTime - options.ringDuration().toNanos();
    rings.values().removeIf(ring -> ring.entries.isEmpty() || ring.entries.peekLast().logTime() < horizon);
    ringCount = rings.size();
  }

  private void execute(Command command) {
    try {
      switch (command) {
        case FlushRing flush -> flush.done().complete(flushRingNow(flush.session(), flush.reason()));
        case Full full -> {
          Recording recording = recordings.get(full.session());
          if (full.on() && recording == null) {
            recording = new Recording();
            start(recording, full.session(), "full");
            writeLatched(recording, full.session());
            recordings.put(full.session(), recording);
            full.done().complete(recording.file);
          } else if (full.on()) {
            full.done().complete(recording.file);
          } else {
            if (recording != null) {
              recordings.remove(full.session());
              finish(recording);
            }
            full.done().complete(null);
          }
        }
        case Stop stop -> { }
      }
    } catch (IOException | RuntimeException e) {
      switch (command) {
        case FlushRing flush -> flush.done().completeExceptionally(e);
        case Full full -> full.done().completeExceptionally(e);
        case Stop stop -> { }
      }
    }
  }

  private Path flushRingNow(String session, String reason) throws IOException {
    Ring ring = rings.get(session);
    if (ring == null || ring.entries.isEmpty()
        || ring.entries.peekLast().logTime() < newestLogTime - options.ringDuration().toNanos()) {
      return null; // nothing from the last ring duration: its ring may have been evicted already
    }
    Recording recording = new Recording();
    start(recording, session, UNSAFE.matcher(reason).replaceAll("_"));
    writeLatched(recording, session);
    // Deferred messages are encoded now, and kept encoded for a later flush of the same ring.
    ArrayDeque<Entry> encoded = new ArrayDeque<>(ring.entries.size());
    for (Entry held : ring.entries) {
      try {
        encoded.addLast(held.encoded());
      } catch (RuntimeException e) {
        dropped.incrementAndGet();
        recorded.decrementAndGet();
      }
    }
    ring.entries.clear();
    ring.entries.addAll(encoded);
    ring.bytes = encoded.stream().mapToLong(Entry::bytes).sum();
    for (Entry entry : encoded) {
      write(recording, entry);
    }
    finish(recording);
    return recording.file;
  }

  /** Writes {@code session}'s latched messages, each topic's newest, at the start of a file. */
  private void writeLatched(Recording recording, String session) throws IOException {
    java.util.Map<Topic, Entry> latched = latchedMessages.get(session);
    if (latched != null) {
      for (Entry entry : latched.values()) {
        write(recording, entry);
      }
    }
  }

  private void start(Recording recording, String session, String kind) throws IOException {
    long now = System.currentTimeMillis();
    String name = UNSAFE.matcher(options.service() + "-" + session + "-" + STAMP.format(Instant.ofEpochMilli(now))
        + "-" + kind).replaceAll("_");
    Path file = options.directory().resolve(name + ".mcap");
    for (int i = 1; Files.exists(file) || Files.exists(partial(file)); i++) {
      file = options.directory().resolve(name + "-" + i + ".mcap");
    }
    recording.file = file;
    // Written under a temporary name and renamed when complete: a file with the final name is whole.
    recording.writer = McapWriter.create(partial(file), McapWriter.Options.defaults("vla-serve " + options.service()));
    recording.channels.clear();
    recording.bytes = 0;
  }

  private void write(Recording recording, Entry entry) throws IOException {
    Integer channel = recording.channels.get(entry.topic());
    if (channel == null) {
      Topic topic = entry.topic();
      int schema = topic.schemaName() == null ? 0
          : recording.writer.schema(topic.schemaName(), topic.schemaEncoding(), topic.schema());
      channel = recording.writer.channel(schema, topic.name(), topic.messageEncoding(), Map.of());
      recording.channels.put(topic, channel);
    }
    recording.writer.message(channel, entry.logTime(), entry.logTime(), entry.data());
    recording.bytes += entry.data().length + 31;
  }

  private static Path partial(Path file) {
    return file.resolveSibling(file.getFileName() + ".part");
  }

  private void finish(Recording recording) throws IOException {
    recording.writer.close();
    Files.move(partial(recording.file), recording.file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    written.add(recording.file);
    writeOrder.put(recording.file, filesFinished.getAndIncrement());
    enforceDiskBudget();
  }

  /** Deletes the oldest recordings until the directory is within its budget. */
  private void enforceDiskBudget() throws IOException {
    List<Path> files;
    try (Stream<Path> listing = Files.list(options.directory())) {
      files = new ArrayList<>(listing.filter(p -> p.getFileName().toString().endsWith(".mcap")).toList());
    }
    // Full recordings before incident files (a ring flushed on a halt or a failure): a robot that
    // asks to be recorded must not push out the evidence of another's halt. Within each, oldest
    // first: files from before this recorder (by modification time, which a file system may keep
    // only to the second), then this recorder's in the order it wrote them.
    files.sort(Comparator.comparing((Path file) -> !file.getFileName().toString().endsWith("-full.mcap"))
        .thenComparingLong(file -> writeOrder.getOrDefault(file, -1L))
        .thenComparing(FlightRecorder::modified).thenComparing(Path::toString));
    long total = 0;
    for (Path file : files) {
      total += Files.size(file);
    }
    for (Path file : files) {
      if (total <= options.diskBudgetBytes()) {
        break;
      }
      total -= Files.size(file);
      Files.deleteIfExists(file);
      writeOrder.remove(file);
      written.remove(file);
    }
  }

  private static long modified(Path file) {
    try {
      return Files.getLastModifiedTime(file).toMillis();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void closeAll() {
    for (Recording recording : recordings.values()) {
      try {
        finish(recording);
      } catch (IOException ignored) {
        // The file stays as far as it got; a reader refuses it with a message.
      }
    }
    recordings.clear();
  }

  /** Now as nanoseconds since the epoch, the recorder's time base. */
  public static long epochNanos() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000_000L + now.getNano();
  }

  /** Finishes every open recording and stops the writer; messages still queued are written first. */
  @Override
  public void close() throws InterruptedException {
    if (stopped) {
      return;
    }
    synchronized (offering) {
      stopped = true; // no offer after this one's sequence number: the writer takes every message before stopping
      commands.add(new Stop(offered));
    }
    writer.join(TimeUnit.SECONDS.toMillis(30));
  }
}
