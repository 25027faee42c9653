package io.vlaserve.service.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.DynamicMessage;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Messages shaped like the suite's: an identity nested in an open message, a list, a state with no id. */
class RobotIdCheckTest {
  private static Descriptor identity;
  private static Descriptor open;
  private static Descriptor state;
  private final RobotIdCheck check = new RobotIdCheck();

  private static FieldDescriptorProto field(String name, int number, FieldDescriptorProto.Type type, String typeName,
      boolean repeated) {
    FieldDescriptorProto.Builder field = FieldDescriptorProto.newBuilder().setName(name).setNumber(number).setType(type)
        .setLabel(repeated ? FieldDescriptorProto.Label.LABEL_REPEATED : FieldDescriptorProto.Label.LABEL_OPTIONAL);
    if (typeName != null) {
      field.setTypeName(typeName);
    }
    return field.build();
  }

  @BeforeAll
  static void describe() throws Exception {
    FileDescriptorProto file = FileDescriptorProto.newBuilder().setName("t.proto").setPackage("t").setSyntax("proto3")
        .addMessageType(DescriptorProto.newBuilder().setName("Identity")
            .addField(field("robot_id", 1, FieldDescriptorProto.Type.TYPE_STRING, null, false)))
        .addMessageType(DescriptorProto.newBuilder().setName("Open")
            .addField(field("robot", 1, FieldDescriptorProto.Type.TYPE_MESSAGE, ".t.Identity", false))
            .addField(field("others", 2, FieldDescriptorProto.Type.TYPE_MESSAGE, ".t.Identity", true))
            .addField(field("task", 3, FieldDescriptorProto.Type.TYPE_STRING, null, false)))
        .addMessageType(DescriptorProto.newBuilder().setName("State")
            .addField(field("x", 1, FieldDescriptorProto.Type.TYPE_DOUBLE, null, false))
            .addField(field("note", 2, FieldDescriptorProto.Type.TYPE_STRING, null, false)))
        .build();
    FileDescriptor built = FileDescriptor.buildFrom(file, new FileDescriptor[0]);
    identity = built.findMessageTypeByName("Identity");
    open = built.findMessageTypeByName("Open");
    state = built.findMessageTypeByName("State");
  }

  private static DynamicMessage id(String robot) {
    return DynamicMessage.newBuilder(identity).setField(identity.findFieldByName("robot_id"), robot).build();
  }

  @Test
  void aNestedForeignIdIsFoundWithItsPath() {
    DynamicMessage message = DynamicMessage.newBuilder(open).setField(open.findFieldByName("robot"), id("arm-2"))
        .setField(open.findFieldByName("task"), "arm-1").build();
    RobotIdCheck.Foreign foreign = check.firstForeign(message, "arm-1").orElseThrow();
    assertEquals("t.Open.robot.robot_id", foreign.field());
    assertEquals("arm-2", foreign.value());
  }

  @Test
  void everyElementOfARepeatedFieldIsChecked() {
    DynamicMessage message = DynamicMessage.newBuilder(open).addRepeatedField(open.findFieldByName("others"), id("arm-1"))
        .addRepeatedField(open.findFieldByName("others"), id("arm-9")).build();
    assertEquals("arm-9", check.firstForeign(message, "arm-1").orElseThrow().value());
  }

  @Test
  void ownEmptyOrAbsentIdsPass() {
    assertTrue(check.firstForeign(DynamicMessage.newBuilder(open).setField(open.findFieldByName("robot"), id("arm-1"))
        .build(), "arm-1").isEmpty());
    assertTrue(check.firstForeign(DynamicMessage.newBuilder(open).setField(open.findFieldByName("robot"), id(""))
        .build(), "arm-1").isEmpty(), "an empty id names no other robot");
    assertTrue(check.firstForeign(DynamicMessage.getDefaultInstance(open), "arm-1").isEmpty());
    assertTrue(check.firstForeign(DynamicMessage.newBuilder(state).setField(state.findFieldByName("note"), "arm-2")
        .build(), "arm-1").isEmpty(), "only fields named robot_id are ids");
    assertTrue(check.firstForeign("not a message", "arm-1").isEmpty());
  }
}
