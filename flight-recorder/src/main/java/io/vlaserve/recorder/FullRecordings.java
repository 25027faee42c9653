package io.vlaserve.recorder;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * When a service records a robot in full: always, for the robots its configuration names ({@code *}
 * for all), from the first time it sees them; otherwise while a session of the robot's asks to be
 * recorded. Sessions are counted per robot, since the next may start before the last has ended,
 * and the recording ends with the last. Thread-safe.
 */
public final class FullRecordings {
  private final FlightRecorder recorder;
  private final Set<String> configured;
  /** Per robot: recording in full by configuration (-1), else how many of its sessions asked. */
  private final Map<String, Integer> robots = new HashMap<>();
  private final Set<String> started = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** @param configured robot ids recorded in full always; {@code *} for every robot */
  public FullRecordings(FlightRecorder recorder, Set<String> configured) {
    this.recorder = recorder;
    this.configured = Set.copyOf(configured);
  }

  private boolean configured(String robot) {
    return configured.contains(robot) || configured.contains("*");
  }

  /**
   * {@code robot} is about to record something: its full recording starts if configured. Called for
   * every message, so it takes no lock once the robot is known (or when nothing is configured).
   */
  public void seen(String robot) {
    if (configured.isEmpty() || started.contains(robot) || !configured(robot)) {
      return;
    }
    synchronized (this) {
      if (started.add(robot)) {
        robots.put(robot, -1);
        recorder.recordFully(robot, true);
      }
    }
  }

  /** A session of {@code robot}'s that asked to be recorded in full starts. */
  public synchronized void sessionStarted(String robot) {
    seen(robot);
    int sessions = robots.getOrDefault(robot, 0);
    if (sessions >= 0) {
      robots.put(robot, sessions + 1);
      if (sessions == 0) {
        recorder.recordFully(robot, true);
      }
    }
  }

  /** A session that asked ({@link #sessionStarted}) ends; the last one's end finishes the file. */
  public synchronized void sessionEnded(String robot) {
    int sessions = robots.getOrDefault(robot, 0);
    if (sessions > 1) {
      robots.put(robot, sessions - 1);
    } else if (sessions == 1) {
      robots.remove(robot);
      recorder.recordFully(robot, false);
    }
  }
}
