package io.vlaserve.planner.gateway;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The open sessions, one per robot id, at most {@code capacity} at once: past that a replica would
 * serve every robot late instead of some robots on time, so the excess is refused and told to come
 * back. Thread-safe.
 */
final class SessionRegistry {
  /** What {@link #register} decided. */
  enum Admission {
    ADMITTED,
    /** The robot already has an open session. */
    DUPLICATE,
    /** {@link #capacity()} sessions are open. */
    FULL
  }

  private final int capacity;
  private final ConcurrentHashMap<String, RobotSession> sessions = new ConcurrentHashMap<>();

  SessionRegistry(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("vla.gateway.quota.max-sessions: " + capacity + " (expected: >= 1)");
    }
    this.capacity = capacity;
  }

  /** Registers {@code session} for {@code robotId} unless the robot already has one or the registry is full. */
  synchronized Admission register(String robotId, RobotSession session) {
    if (sessions.containsKey(robotId)) {
      return Admission.DUPLICATE;
    }
    if (sessions.size() >= capacity) {
      return Admission.FULL;
    }
    sessions.put(robotId, session);
    return Admission.ADMITTED;
  }

  void unregister(String robotId, RobotSession session) {
    sessions.remove(robotId, session);
  }

  List<RobotSession> all() {
    return List.copyOf(sessions.values());
  }

  int size() {
    return sessions.size();
  }

  /** The most sessions open at once. */
  int capacity() {
    return capacity;
  }
}
