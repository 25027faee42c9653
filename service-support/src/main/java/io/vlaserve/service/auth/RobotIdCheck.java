package io.vlaserve.service.auth;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Holds a robot to its own id: finds every non-empty {@code robot_id} string field anywhere in a
 * request (a session open's {@code robot.robot_id}, a halt's {@code robot_id}, an agent hello's)
 * and reports the first that is not the authenticated robot's. Message types that cannot contain
 * a {@code robot_id} at any depth are skipped without looking at their values (an agent's 1 kHz
 * state reports cost a map lookup). Thread-safe.
 */
final class RobotIdCheck {
  static final String FIELD = "robot_id";
  /** Deeper than any vla message nests; protobuf's own limit is 100. */
  private static final int MAX_DEPTH = 16;

  /** A foreign robot id: where it was ("vla.planner.v1.SessionOpen.robot.robot_id") and its value. */
  record Foreign(String field, String value) {}

  private final Map<Descriptor, Boolean> mayContain = new ConcurrentHashMap<>();
  // Per message type, the fields worth looking at: robot_id strings and messages that may hold one.
  private final Map<Descriptor, List<FieldDescriptor>> relevant = new ConcurrentHashMap<>();

  /** The first robot id in {@code request} that is not {@code robot}, if any. */
  Optional<Foreign> firstForeign(Object request, String robot) {
    if (!(request instanceof Message message)) {
      return Optional.empty();
    }
    // Only the relevant fields are read (no reflection over every field, no 12 KB image touched),
    // and the field's path is spelled out only when a foreign id is found.
    Optional<Foreign> found = find(message, robot, 0);
    return found.map(f -> new Foreign(message.getDescriptorForType().getFullName() + "." + f.field(), f.value()));
  }

  private Optional<Foreign> find(Message message, String robot, int depth) {
    if (depth > MAX_DEPTH || !mayContain(message.getDescriptorForType())) {
      return Optional.empty();
    }
    for (FieldDescriptor descriptor : relevant(message.getDescriptorForType())) {
      int count = descriptor.isRepeated() ? message.getRepeatedFieldCount(descriptor)
          : message.hasField(descriptor) ? 1 : 0;
      for (int i = 0; i < count; i++) {
        Object value = descriptor.isRepeated() ? message.getRepeatedField(descriptor, i) : message.getField(descriptor);
        if (descriptor.getJavaType() == FieldDescriptor.JavaType.STRING) {
          String id = (String) value;
          if (!id.isEmpty() && !id.equals(robot)) {
            return Optional.of(new Foreign(descriptor.getName(), id));
          }
        } else {
          Optional<Foreign> found = find((Message) value, robot, depth + 1);
          if (found.isPresent()) {
            return Optional.of(new Foreign(descriptor.getName() + "." + found.get().field(), found.get().value()));
          }
        }
      }
    }
    return Optional.empty();
  }

  private List<FieldDescriptor> relevant(Descriptor type) {
    return relevant.computeIfAbsent(type, t -> t.getFields().stream()
        .filter(f -> (f.getJavaType() == FieldDescriptor.JavaType.STRING && f.getName().equals(FIELD))
            || (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE && !f.isMapField() && mayContain(f.getMessageType())))
        .toList());
  }

  private boolean mayContain(Descriptor type) {
    Boolean known = mayContain.get(type);
    if (known != null) {
      return known;
    }
    boolean computed = mayContain(type, new java.util.HashSet<>());
    mayContain.put(type, computed);
    return computed;
  }

  private static boolean mayContain(Descriptor type, java.util.Set<Descriptor> seen) {
    if (!seen.add(type)) {
      return false;
    }
    for (FieldDescriptor field : type.getFields()) {
      if (field.getJavaType() == FieldDescriptor.JavaType.STRING && field.getName().equals(FIELD)) {
        return true;
      }
      if (field.getJavaType() == FieldDescriptor.JavaType.MESSAGE && !field.isMapField()
          && mayContain(field.getMessageType(), seen)) {
        return true;
      }
    }
    return false;
  }
}
