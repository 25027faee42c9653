package io.vlaserve.robot.client;

import io.vlaserve.common.v1.RobotState;
import io.vlaserve.controller.v1.Setpoint;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A robot that records, in order, every setpoint it applied ("setpoint 12") and every hold ("hold: reason"). */
final class RecordingHardware implements RobotHardware {
  final List<String> events = new CopyOnWriteArrayList<>();

  @Override
  public RobotState state() {
    Instant now = Instant.now();
    return RobotState.newBuilder().setTime(com.google.protobuf.Timestamp.newBuilder()
        .setSeconds(now.getEpochSecond()).setNanos(now.getNano())).setGripper(1).build();
  }

  @Override
  public void command(Setpoint setpoint) {
    events.add("setpoint " + setpoint.getSequence());
  }

  @Override
  public void hold(String reason) {
    events.add("hold: " + reason);
  }

  long applied(long sequence) {
    return events.stream().filter(e -> e.equals("setpoint " + sequence)).count();
  }

  /** The index of the first event after {@code from} starting with {@code prefix}, or -1. */
  int indexOf(String prefix, int from) {
    for (int i = from; i < events.size(); i++) {
      if (events.get(i).startsWith(prefix)) {
        return i;
      }
    }
    return -1;
  }
}
