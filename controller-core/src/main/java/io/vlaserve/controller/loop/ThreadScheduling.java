package io.vlaserve.controller.loop;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import java.util.Locale;

/**
 * Applies a {@link LoopScheduling} to the calling thread through Linux's scheduler calls (libc
 * through JNA). Never throws: what the kernel refused is reported, and the thread keeps running
 * as it was. Thread-safe.
 */
public final class ThreadScheduling {
  private static final int SCHED_OTHER = 0;
  private static final int SCHED_FIFO = 1;
  private static final int PRIO_PROCESS = 0;
  private static final int EPERM = 1;
  /** Nice value tried when SCHED_FIFO is refused: what an RLIMIT_NICE of 30 permits. */
  static final int FALLBACK_NICE = -10;

  /** What the calling thread got. */
  public record Outcome(boolean elevated, String description) {
    @Override
    public String toString() {
      return description;
    }
  }

  private ThreadScheduling() {}

  /** Asks for {@code scheduling} for the calling thread. */
  public static Outcome applyToCurrentThread(LoopScheduling scheduling) {
    if (!scheduling.realtime()) {
      return new Outcome(false, "normal (real-time scheduling not requested)");
    }
    if (!isLinux()) {
      return new Outcome(false, "normal: real-time scheduling is implemented on Linux only, this is "
          + System.getProperty("os.name"));
    }
    CLibrary libc;
    try {
      libc = Libc.INSTANCE;
    } catch (LinkageError | RuntimeException e) {
      return new Outcome(false, "normal: libc could not be loaded through JNA (" + e + ")");
    }
    String fifoRefusal;
    try {
      // pid 0: the calling thread (Linux schedules threads, not processes).
      libc.sched_setscheduler(0, SCHED_FIFO, new int[] {scheduling.priority()});
      return new Outcome(true, scheduling.toString());
    } catch (LastErrorException e) {
      fifoRefusal = errno(e);
    }
    try {
      // who 0 with PRIO_PROCESS: on Linux, the calling thread only.
      libc.setpriority(PRIO_PROCESS, 0, FALLBACK_NICE);
      return new Outcome(true, "nice " + FALLBACK_NICE + " (" + scheduling + " refused: " + fifoRefusal + ")");
    } catch (LastErrorException e) {
      return new Outcome(false, "normal: " + scheduling + " and nice " + FALLBACK_NICE + " refused (" + fifoRefusal
          + (e.getErrorCode() == EPERM ? "): for steadier ticks grant the process CAP_SYS_NICE or an rtprio limit"
          + " (docs/deploy.md, \"Real-time control loops\")"
          : ", " + errno(e) + ")"));
    }
  }

  /** The calling thread's policy and nice value, e.g. "SCHED_FIFO priority 40" or "SCHED_OTHER nice 0". */
  public static String describeCurrentThread() {
    if (!isLinux()) {
      return "unknown (not Linux)";
    }
    CLibrary libc = Libc.INSTANCE;
    int policy = libc.sched_getscheduler(0);
    if (policy == SCHED_FIFO) {
      int[] param = new int[1];
      libc.sched_getparam(0, param);
      return "SCHED_FIFO priority " + param[0];
    }
    return (policy == SCHED_OTHER ? "SCHED_OTHER" : "policy " + policy) + " nice " + libc.getpriority(PRIO_PROCESS, 0);
  }

  private static boolean isLinux() {
    return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux");
  }

  private static String errno(LastErrorException e) {
    return e.getErrorCode() == EPERM ? "EPERM, not permitted" : "errno " + e.getErrorCode();
  }

  /** Loads libc on first use (the holder idiom), so that other platforms never load it. */
  private static final class Libc {
    static final CLibrary INSTANCE = load();

    private static CLibrary load() {
      // JNA unpacks its native part under the home directory unless told otherwise; a pod's root
      // file system is read-only and its /tmp writable. The file is deleted when the JVM exits.
      if (System.getProperty("jna.tmpdir") == null) {
        System.setProperty("jna.tmpdir", System.getProperty("java.io.tmpdir"));
      }
      return Native.load("c", CLibrary.class);
    }
  }

  /** The libc calls used. */
  interface CLibrary extends Library {
    int sched_setscheduler(int pid, int policy, int[] param) throws LastErrorException;

    int sched_getscheduler(int pid) throws LastErrorException;

    int sched_getparam(int pid, int[] param) throws LastErrorException;

    int setpriority(int which, int who, int prio) throws LastErrorException;

    int getpriority(int which, int who) throws LastErrorException;
  }
}
