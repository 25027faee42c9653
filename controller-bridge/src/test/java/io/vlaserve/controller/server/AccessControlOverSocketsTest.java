package io.vlaserve.controller.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthGrpc;
import io.vlaserve.controller.v1.ControllerBridgeGrpc;
import io.vlaserve.controller.v1.GetSafetyLimitsRequest;
import io.vlaserve.controller.v1.HaltRequest;
import io.vlaserve.controller.v1.ResumeRequest;
import io.vlaserve.controller.v1.RobotAgentLinkGrpc;
import io.vlaserve.controller.v1.SafetyLimits;
import io.vlaserve.controller.v1.SetSafetyLimitsRequest;
import io.vlaserve.service.GrpcServerPort;
import io.vlaserve.service.auth.AccessTableWalk;
import io.vlaserve.testing.Await;
import io.vlaserve.tls.TestPki;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Issue 16, items 2 and 3 on real sockets: the bridge with TLS and authenticated callers. Both
 * ports follow the access table; a robot reaches only its own agent link and its own halt; resume
 * and safety limits are an operator's (or, for resume, the gateway's) and never a robot's.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AccessControlOverSocketsTest {
  private ConfigurableApplicationContext app;
  private AccessTableWalk walk;
  private int adminPort;
  private int agentPort;

  @BeforeAll
  void start(@TempDir Path dir) {
    TestPki pki = TestPki.create(dir, "suite");
    TestPki.Issued bridge = pki.server("controller-bridge");
    app = new SpringApplicationBuilder(ControllerBridgeApplication.class).run(AccessTableWalk.secureArguments(pki, bridge,
        "--vla.controller.simulated-robots=1", "--vla.controller.remote-robots=arm-1,arm-2",
        "--vla.controller.agent-port=0", "--vla.controller.agent-address=127.0.0.1"));
    adminPort = app.getBean(GrpcServerPort.class).await(30);
    agentPort = app.getBean(AgentLinkServer.class).port();
    walk = new AccessTableWalk("localhost", pki);
  }

  @AfterAll
  void stop() {
    walk.close();
    app.close();
  }

  @Test
  void everyRpcOnBothPortsIsServedToExactlyTheRolesOfTheTable() {
    walk.assertTableHolds(adminPort, List.of(ControllerBridgeGrpc.getServiceDescriptor(),
        HealthGrpc.getServiceDescriptor()), 5 * (6 + 2));
    walk.assertTableHolds(agentPort, List.of(RobotAgentLinkGrpc.getServiceDescriptor()), 5 * 1);
  }

  private static Status failure(Runnable call) {
    return assertThrows(StatusRuntimeException.class, call::run).getStatus();
  }

  @Test
  void aRobotHaltsItselfButNoOtherRobot() {
    ControllerBridgeGrpc.ControllerBridgeBlockingStub robot = ControllerBridgeGrpc
        .newBlockingStub(walk.channel(adminPort, "robot")).withDeadlineAfter(30, TimeUnit.SECONDS);
    Status denied = failure(() -> robot.halt(HaltRequest.newBuilder().setRobotId("arm-2").setReason("x").build()));
    assertEquals(Status.Code.PERMISSION_DENIED, denied.getCode());
    assertTrue(denied.getDescription().startsWith("vla.controller.v1.HaltRequest.robot_id \"arm-2\" is not the"
        + " authenticated robot \"arm-1\""), denied.getDescription());
    robot.halt(HaltRequest.newBuilder().setRobotId("arm-1").setReason("own stop").build());
  }

  @Test
  void resumeAndSafetyLimitsAreNeverARobotsEvenForItself() {
    ControllerBridgeGrpc.ControllerBridgeBlockingStub robot = ControllerBridgeGrpc
        .newBlockingStub(walk.channel(adminPort, "robot")).withDeadlineAfter(30, TimeUnit.SECONDS);
    ControllerBridgeGrpc.ControllerBridgeBlockingStub operator = ControllerBridgeGrpc
        .newBlockingStub(walk.channel(adminPort, "operator")).withDeadlineAfter(30, TimeUnit.SECONDS);
    SafetyLimits limits = operator.getSafetyLimits(GetSafetyLimitsRequest.newBuilder().setRobotId("arm-1").build());
    for (String target : new String[] {"arm-1", "arm-2"}) {
      Status resume = failure(() -> robot.resume(ResumeRequest.newBuilder().setRobotId(target).build()));
      assertEquals(Status.Code.PERMISSION_DENIED, resume.getCode());
      assertEquals("robot/arm-1 may not call vla.controller.v1.ControllerBridge/Resume (allowed: operator, service)",
          resume.getDescription());
      Status set = failure(() -> robot.setSafetyLimits(SetSafetyLimitsRequest.newBuilder()
          .setLimits(limits.toBuilder().setRobotId(target)).build()));
      assertEquals(Status.Code.PERMISSION_DENIED, set.getCode());
    }
    assertEquals("arm-1", operator.setSafetyLimits(SetSafetyLimitsRequest.newBuilder().setLimits(limits).build())
        .getRobotId(), "the operator may (unchanged limits, within the envelope)");
  }

  @Test
  void aRobotsAgentLinkIsItsOwnOnly() throws Exception {
    ManagedChannel robot = walk.channel(agentPort, "robot");
    try (TestAgent impostor = new TestAgent(robot, "arm-2")) {
      Await.until(() -> impostor.closedWith.get() != null, "the bridge ends the impostor's link");
      assertEquals(Status.Code.PERMISSION_DENIED, impostor.closedWith.get().getCode());
      assertTrue(impostor.closedWith.get().getDescription().contains("\"arm-2\" is not the authenticated robot \"arm-1\""));
    }
    try (TestAgent own = new TestAgent(robot, "arm-1")) {
      Await.until(() -> own.limits.get() != null || own.closedWith.get() != null, "the bridge answers arm-1's hello");
      assertEquals(null, own.closedWith.get());
      assertEquals("arm-1", own.limits.get().getRobotId());
    }
  }
}
