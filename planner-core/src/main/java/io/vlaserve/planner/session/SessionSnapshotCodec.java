package io.vlaserve.planner.session;

import io.vlaserve.planner.PlannedSubgoal;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link SessionSnapshot} in bytes and back, in an explicit, versioned layout (no reflection, no
 * protobuf: planner-core stays plain Java).
 *
 * <p>Format {@value #VERSION}, big-endian: a version byte, then the snapshot's components in
 * declaration order. It is written only for a snapshot with a bridge hint; one without is written
 * in format 2, the same without the hint at the end, which gateways from before the hint read (so
 * a rollout of a gateway with one bridge resumes across old and new replicas alike). Format 1,
 * format 2 without the trace parent at the end, is still read (a token issued before an upgrade
 * resumes, without its trace). A string is an unsigned 16-bit byte count and strict UTF-8; a list is an
 * unsigned 16-bit count and its items; a duration is its nanoseconds as a long; the phase is a byte
 * (1 running, 2 replanning); {@code halted} is a byte 0 or 1; a subgoal is its id, instruction,
 * max steps (int) and budget; a completed subgoal is its instruction and max steps.
 *
 * <p>Decoding trusts nothing: every length is bounded before anything is allocated, and any input
 * that is not exactly one snapshot of a known version (truncated, too long, trailing bytes, an
 * unknown version, a value the snapshot refuses) fails with an {@link IllegalArgumentException}
 * and no other exception. Stateless and thread-safe.
 */
public final class SessionSnapshotCodec {
  /** The format written for a snapshot with a bridge hint; it and the two before it are read. */
  public static final int VERSION = 3;
  /** Format 2, written for a snapshot without a bridge hint: format 3 without the hint at the end. */
  public static final int VERSION_WITHOUT_BRIDGE = 2;
  /** Format 1, still read: format 2 without the trace at the end. */
  public static final int VERSION_WITHOUT_TRACE = 1;
  /** No snapshot is longer: a session's plan and history fit many times over. */
  public static final int MAX_BYTES = 256 * 1024;
  /** The longest string, in UTF-8 bytes. */
  public static final int MAX_STRING_BYTES = 16 * 1024;
  /** The most items in a list (skills, plan, completed subgoals). */
  public static final int MAX_ITEMS = 1024;

  private static final byte RUNNING = 1;
  private static final byte REPLANNING = 2;

  private SessionSnapshotCodec() {}

  /** Whether snapshots in format {@code version} are read. */
  public static boolean reads(int version) {
    return version >= VERSION_WITHOUT_TRACE && version <= VERSION;
  }

  /**
   * @throws IllegalArgumentException if a string or list is longer than this format carries
   */
  public static byte[] encode(SessionSnapshot snapshot) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      boolean hint = !snapshot.bridge().isEmpty();
      out.writeByte(hint ? VERSION : VERSION_WITHOUT_BRIDGE);
      writeString(out, "sessionId", snapshot.sessionId());
      writeString(out, "robotId", snapshot.robotId());
      out.writeLong(snapshot.connectionEpoch());
      out.writeByte(snapshot.phase() == SessionMachine.Phase.RUNNING ? RUNNING : REPLANNING);
      writeString(out, "task", snapshot.task());
      writeString(out, "scene", snapshot.scene());
      writeCount(out, "skills", snapshot.skills().size());
      for (String skill : snapshot.skills()) {
        writeString(out, "skill", skill);
      }
      out.writeLong(snapshot.stepPeriod().toNanos());
      out.writeInt(snapshot.revision());
      writeCount(out, "plan", snapshot.plan().size());
      for (SessionSubgoal subgoal : snapshot.plan()) {
        writeString(out, "subgoal id", subgoal.id());
        writeString(out, "instruction", subgoal.instruction());
        out.writeInt(subgoal.maxSteps());
        out.writeLong(subgoal.budget().toNanos());
      }
      out.writeInt(snapshot.subgoalIndex());
      writeCount(out, "completed", snapshot.completed().size());
      for (PlannedSubgoal done : snapshot.completed()) {
        writeString(out, "instruction", done.instruction());
        out.writeInt(done.maxSteps());
      }
      out.writeInt(snapshot.replansUsed());
      out.writeInt(snapshot.lastSubgoalId());
      out.writeInt(snapshot.attempt());
      out.writeInt(snapshot.instructionEpoch());
      out.writeBoolean(snapshot.halted());
      out.writeDouble(snapshot.lastGripper());
      out.writeLong(snapshot.budgetLeft().toNanos());
      out.writeLong(snapshot.elapsed().toNanos());
      writeString(out, "failureReason", snapshot.failureReason());
      writeString(out, "traceParent", snapshot.traceParent());
      if (hint) {
        writeString(out, "bridge", snapshot.bridge());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("writing to memory failed", e);
    }
    if (bytes.size() > MAX_BYTES) {
      throw new IllegalArgumentException("snapshot: " + bytes.size() + " bytes (expected <= " + MAX_BYTES + ")");
    }
    return bytes.toByteArray();
  }

  /**
   * @throws IllegalArgumentException if {@code bytes} are not exactly one snapshot of a known
   *     version; the message says what was wrong
   */
  public static SessionSnapshot decode(byte[] bytes) {
    if (bytes.length > MAX_BYTES) {
      throw new IllegalArgumentException("snapshot: " + bytes.length + " bytes (expected <= " + MAX_BYTES + ")");
    }
    if (bytes.length == 0) {
      throw new IllegalArgumentException("snapshot: empty (expected a version byte and a snapshot)");
    }
    ByteBuffer in = ByteBuffer.wrap(bytes);
    int version = in.get() & 0xff;
    if (!reads(version)) {
      throw new IllegalArgumentException("snapshot format version " + version + " (expected " + VERSION_WITHOUT_TRACE
          + ".." + VERSION + ")");
    }
    SessionSnapshot snapshot;
    try {
      snapshot = readSnapshot(in, version);
    } catch (BufferUnderflowException e) {
      throw new IllegalArgumentException("snapshot: truncated after " + bytes.length + " bytes");
    }
    if (in.hasRemaining()) {
      throw new IllegalArgumentException("snapshot: " + in.remaining() + " bytes after its end (expected none)");
    }
    return snapshot;
  }

  private static SessionSnapshot readSnapshot(ByteBuffer in, int version) {
    String sessionId = readString(in, "sessionId");
    String robotId = readString(in, "robotId");
    long connectionEpoch = in.getLong();
    SessionMachine.Phase phase = switch (in.get()) {
      case RUNNING -> SessionMachine.Phase.RUNNING;
      case REPLANNING -> SessionMachine.Phase.REPLANNING;
      default -> throw new IllegalArgumentException("snapshot: unknown phase (expected 1 running or 2 replanning)");
    };
    String task = readString(in, "task");
    String scene = readString(in, "scene");
    int skillCount = readCount(in, "skills");
    List<String> skills = new ArrayList<>(skillCount);
    for (int i = 0; i < skillCount; i++) {
      skills.add(readString(in, "skill"));
    }
    Duration stepPeriod = Duration.ofNanos(in.getLong());
    int revision = in.getInt();
    int planSize = readCount(in, "plan");
    List<SessionSubgoal> plan = new ArrayList<>(planSize);
    for (int i = 0; i < planSize; i++) {
      String id = readString(in, "subgoal id");
      PlannedSubgoal planned = new PlannedSubgoal(readString(in, "instruction"), in.getInt());
      plan.add(new SessionSubgoal(id, planned, Duration.ofNanos(in.getLong())));
    }
    int subgoalIndex = in.getInt();
    int completedCount = readCount(in, "completed");
    List<PlannedSubgoal> completed = new ArrayList<>(completedCount);
    for (int i = 0; i < completedCount; i++) {
      completed.add(new PlannedSubgoal(readString(in, "instruction"), in.getInt()));
    }
    int replansUsed = in.getInt();
    int lastSubgoalId = in.getInt();
    int attempt = in.getInt();
    int instructionEpoch = in.getInt();
    boolean halted = switch (in.get()) {
      case 0 -> false;
      case 1 -> true;
      default -> throw new IllegalArgumentException("snapshot: halted is neither 0 nor 1");
    };
    double lastGripper = in.getDouble();
    Duration budgetLeft = Duration.ofNanos(in.getLong());
    Duration elapsed = Duration.ofNanos(in.getLong());
    String failureReason = readString(in, "failureReason");
    String traceParent = version >= VERSION_WITHOUT_BRIDGE ? readString(in, "traceParent") : "";
    String bridge = version >= VERSION ? readString(in, "bridge") : "";
    if (version >= VERSION && bridge.isEmpty()) {
      throw new IllegalArgumentException("snapshot: format " + VERSION + " with an empty bridge (expected format "
          + VERSION_WITHOUT_BRIDGE + " for none)");
    }
    return new SessionSnapshot(sessionId, robotId, connectionEpoch, phase, task, scene, skills, stepPeriod, revision,
        plan, subgoalIndex, completed, replansUsed, lastSubgoalId, attempt, instructionEpoch, halted, lastGripper,
        budgetLeft, elapsed, failureReason, traceParent, bridge);
  }

  private static void writeString(DataOutputStream out, String what, String value) throws IOException {
    byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
    if (utf8.length > MAX_STRING_BYTES) {
      throw new IllegalArgumentException(what + ": " + utf8.length + " UTF-8 bytes (expected <= " + MAX_STRING_BYTES
          + ")");
    }
    out.writeShort(utf8.length);
    out.write(utf8);
  }

  private static void writeCount(DataOutputStream out, String what, int count) throws IOException {
    if (count > MAX_ITEMS) {
      throw new IllegalArgumentException(what + ": " + count + " items (expected <= " + MAX_ITEMS + ")");
    }
    out.writeShort(count);
  }

  private static String readString(ByteBuffer in, String what) {
    int length = Short.toUnsignedInt(in.getShort());
    if (length > MAX_STRING_BYTES) {
      throw new IllegalArgumentException("snapshot: " + what + " of " + length + " bytes (expected <= "
          + MAX_STRING_BYTES + ")");
    }
    if (length > in.remaining()) {
      throw new BufferUnderflowException();
    }
    return StrictUtf8.read(in, length)
        .orElseThrow(() -> new IllegalArgumentException("snapshot: " + what + " is not UTF-8"));
  }

  private static int readCount(ByteBuffer in, String what) {
    int count = Short.toUnsignedInt(in.getShort());
    if (count > MAX_ITEMS) {
      throw new IllegalArgumentException("snapshot: " + what + " of " + count + " items (expected <= " + MAX_ITEMS
          + ")");
    }
    return count;
  }
}
