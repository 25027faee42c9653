package io.vlaserve.planner.gateway;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/** The open sessions, one per robot id. Thread-safe. */
final class SessionRegistry {
  private final ConcurrentHashMap<String, RobotSession> sessions = new ConcurrentHashMap<>();

  /** Registers {@code session} for {@code robotId}; false if the robot already has one. */
  boolean register(String robotId, RobotSession session) {
    return sessions.putIfAbsent(robotId, session) == null;
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
}
