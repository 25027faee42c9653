package io.vlaserve.robot.client;

import io.grpc.Status;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * When and how often to reconnect after a link or session is lost: exponential backoff with
 * proportional jitter, a give-up time, and the status codes that are never retried because
 * retrying cannot help (an unknown robot, a malformed request, a denied permission).
 *
 * <p>Attempt {@code n} (from 0) waits {@code min(maxBackoff, initialBackoff * multiplier^n)},
 * scaled by a random factor in {@code [1 - jitter, 1 + jitter]} so that a fleet of robots cut off
 * together does not reconnect in lock step. Immutable and thread-safe.
 *
 * @param initialBackoff the wait before the first reconnect attempt
 * @param maxBackoff the longest wait between attempts
 * @param multiplier how much each wait grows over the previous one (at least 1)
 * @param jitter the random spread of each wait, as a fraction of it (0 to 1)
 * @param giveUpAfter how long to keep trying, counted from the loss; {@link Duration#ZERO} never
 *     reconnects
 * @param fatalCodes status codes that end at once, without a retry
 */
public record ReconnectPolicy(Duration initialBackoff, Duration maxBackoff, double multiplier, double jitter,
    Duration giveUpAfter, Set<Status.Code> fatalCodes) {

  /** Codes no reconnect can fix: the request itself or the robot's identity is wrong. */
  public static final Set<Status.Code> DEFAULT_FATAL_CODES = Set.copyOf(EnumSet.of(Status.Code.NOT_FOUND,
      Status.Code.INVALID_ARGUMENT, Status.Code.PERMISSION_DENIED, Status.Code.UNAUTHENTICATED,
      Status.Code.UNIMPLEMENTED));

  /** Validates the parameters and copies the codes. */
  public ReconnectPolicy {
    requirePositive("initialBackoff", initialBackoff);
    requirePositive("maxBackoff", maxBackoff);
    if (maxBackoff.compareTo(initialBackoff) < 0) {
      throw new IllegalArgumentException("maxBackoff: " + maxBackoff + " (expected: >= initialBackoff "
          + initialBackoff + ")");
    }
    if (!(multiplier >= 1) || Double.isInfinite(multiplier)) {
      throw new IllegalArgumentException("multiplier: " + multiplier + " (expected: finite, >= 1)");
    }
    if (!(jitter >= 0 && jitter <= 1)) {
      throw new IllegalArgumentException("jitter: " + jitter + " (expected: 0 <= jitter <= 1)");
    }
    if (giveUpAfter == null || giveUpAfter.isNegative()) {
      throw new IllegalArgumentException("giveUpAfter: " + giveUpAfter + " (expected: >= 0)");
    }
    fatalCodes = Set.copyOf(fatalCodes);
  }

  /** 100 ms doubling to at most 5 s, 20 % jitter, giving up after a minute; the default codes are fatal. */
  public static ReconnectPolicy defaults() {
    return new ReconnectPolicy(Duration.ofMillis(100), Duration.ofSeconds(5), 2.0, 0.2, Duration.ofMinutes(1),
        DEFAULT_FATAL_CODES);
  }

  /** Never reconnects: the first loss is final. */
  public static ReconnectPolicy never() {
    return defaults().withGiveUpAfter(Duration.ZERO);
  }

  /** This policy with another first wait and longest wait. */
  public ReconnectPolicy withBackoff(Duration initial, Duration max) {
    return new ReconnectPolicy(initial, max, multiplier, jitter, giveUpAfter, fatalCodes);
  }

  /** This policy with another give-up time ({@link Duration#ZERO}: never reconnect). */
  public ReconnectPolicy withGiveUpAfter(Duration giveUp) {
    return new ReconnectPolicy(initialBackoff, maxBackoff, multiplier, jitter, giveUp, fatalCodes);
  }

  /** This policy with another random spread (0 for exact, repeatable waits). */
  public ReconnectPolicy withJitter(double spread) {
    return new ReconnectPolicy(initialBackoff, maxBackoff, multiplier, spread, giveUpAfter, fatalCodes);
  }

  /** Whether a loss with {@code status} may be retried: not OK and not one of the fatal codes. */
  public boolean retryable(Status status) {
    return !status.isOk() && !fatalCodes.contains(status.getCode());
  }

  /** Whether to try again when the loss began {@code lostForNanos} ago. */
  public boolean keepTrying(long lostForNanos) {
    return lostForNanos < giveUpAfter.toNanos();
  }

  /** The wait before attempt {@code attempt} (from 0), jittered with {@code random}. */
  public Duration backoff(int attempt, RandomGenerator random) {
    if (attempt < 0) {
      throw new IllegalArgumentException("attempt: " + attempt + " (expected: >= 0)");
    }
    double base = Math.min(maxBackoff.toNanos(), initialBackoff.toNanos() * Math.pow(multiplier, attempt));
    double spread = jitter == 0 ? 1 : 1 - jitter + 2 * jitter * random.nextDouble();
    return Duration.ofNanos(Math.round(Math.min(maxBackoff.toNanos(), base * spread)));
  }

  private static void requirePositive(String name, Duration value) {
    if (value == null || value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
    }
  }
}
