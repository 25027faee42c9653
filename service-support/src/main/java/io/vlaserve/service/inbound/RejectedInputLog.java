package io.vlaserve.service.inbound;

import io.vlaserve.service.LogThrottle;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one log line for input a service refused at the transport (unparseable bytes, an oversized
 * message): at most one WARN line per interval, never a stack trace, with the number of refusals
 * left out since the last line. Anyone can send bad input, so logging each one would let anyone
 * flood the log. Time comes from an injected clock. Thread-safe.
 */
public final class RejectedInputLog {
  private static final Logger log = LoggerFactory.getLogger(RejectedInputLog.class);
  private static final int MAX_REASON = 200;

  private final LogThrottle throttle;
  private final Consumer<String> sink;
  private final AtomicLong total = new AtomicLong();

  /** Logs to SLF4J at WARN, on {@link System#nanoTime()}. */
  public RejectedInputLog(Duration interval) {
    this(interval, System::nanoTime, log::warn);
  }

  /**
   * @param interval at most one line per interval
   * @param nanoClock monotonic nanoseconds
   * @param sink where lines go
   */
  public RejectedInputLog(Duration interval, LongSupplier nanoClock, Consumer<String> sink) {
    this.throttle = new LogThrottle(interval, nanoClock);
    this.sink = sink;
  }

  /** Refusals reported so far, logged or not. */
  public long total() {
    return total.get();
  }

  /**
   * Reports one refusal; logs it unless a line was written less than an interval ago.
   *
   * @param where the method (or "inbound message" when the transport does not say)
   * @param reason what was wrong; abbreviated in the line
   */
  public void rejected(String where, String reason) {
    total.incrementAndGet();
    long left = throttle.admit();
    if (left == LogThrottle.SKIP) {
      return;
    }
    String shortReason = reason == null ? "" : reason.length() <= MAX_REASON ? reason
        : reason.substring(0, MAX_REASON) + "... (" + reason.length() + " characters)";
    sink.accept("Rejected input on " + where + ": " + shortReason
        + (left > 0 ? " (and " + left + " more rejected inputs not logged since the last line)" : ""));
  }
}
