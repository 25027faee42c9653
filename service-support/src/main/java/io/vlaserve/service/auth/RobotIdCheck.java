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

  /** The first robot id in {@code request} that is not {@code robot}, if any. */
  Optional<Foreign> firstForeign(Object request, String robot) {
    if (!(request instanceof Message message)) {
      return Optional.empty();
    }
    return find(message, robot, message.getDescriptorForType().getFullName(), 0);
  }

  private Optional<Foreign> find(Message message, String robot, String path, int depth) {
    if (depth > MAX_DEPTH || !mayContain(message.getDescriptorForType())) {
      return Optional.empty();
    }
    for (Map.Entry<FieldDescriptor, Object> field : message.getAllFields().entrySet()) {
      FieldDescriptor descriptor = field.getKey();
      String where = path + "." + descriptor.getName();
      if (descriptor.getJavaType() == FieldDescriptor.JavaType.STRING && descriptor.getName().equals(FIELD)) {
        for (Object value : values(descriptor, field.getValue())) {
          String id = (String) value;
          if (!id.isEmpty() && !id.equals(robot)) {
            return Optional.of(new Foreign(where, id));
          }
        }
      } else if (descriptor.getJavaType() == FieldDescriptor.JavaType.MESSAGE && !descriptor.isMapField()) {
        for (Object value : values(descriptor, field.getValue())) {
          Optional<Foreign> found = find((Message) value, robot, where, depth + 1);
          if (found.isPresent()) {
            return found;
          }
        }
      }
    }
    return Optional.empty();
  }

  private static List<?> values(FieldDescriptor descriptor, Object value) {
    return descriptor.isRepeated() ? (List<?>) value : List.of(value);
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
