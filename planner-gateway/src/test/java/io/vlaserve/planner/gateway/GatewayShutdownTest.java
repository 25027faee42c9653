package io.vlaserve.planner.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.vlaserve.common.v1.RobotIdentity;
import io.vlaserve.controller.v1.ControllerBridgeGrpc;
import io.vlaserve.controller.v1.ExecuteRequest;
import io.vlaserve.controller.v1.ExecuteResponse;
import io.vlaserve.planner.v1.HoldNotice;
import io.vlaserve.planner.v1.SessionOpen;
import io.vlaserve.planner.v1.SubgoalEvent;
import io.vlaserve.planner.v1.SubgoalStatus;
import io.vlaserve.policy.v1.CameraSpec;
import io.vlaserve.policy.v1.GetMetadataRequest;
import io.vlaserve.policy.v1.PolicyMetadata;
import io.vlaserve.policy.v1.PolicyServiceGrpc;
import io.vlaserve.policy.v1.SessionReady;
import io.vlaserve.policy.v1.SessionRequest;
import io.vlaserve.policy.v1.SessionResponse;
import io.vlaserve.robot.client.GatewaySession;
import io.vlaserve.service.GrpcServerPort;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Graceful shutdown over real sockets: a robot in the middle of a subgoal is told to hold, its
 * session ends with UNAVAILABLE (so it knows to reconnect), and the bridge's execution stream is
 * closed, which makes the bridge decelerate the robot to a hold. policy-service and the bridge are
 * small stand-ins here (the end-to-end test runs the real ones).
 */
class GatewayShutdownTest {
  private static final String SKILL = "move to the red block";

  /** Accepts a policy session and answers nothing: the robot stays in its first subgoal. */
  static final class SilentPolicy extends PolicyServiceGrpc.PolicyServiceImplBase {
    @Override
    public void getMetadata(GetMetadataRequest request, StreamObserver<PolicyMetadata> responses) {
      responses.onNext(metadata());
      responses.onCompleted();
    }

    @Override
    public StreamObserver<SessionRequest> session(StreamObserver<SessionResponse> responses) {
      responses.onNext(SessionResponse.newBuilder().setReady(SessionReady.newBuilder().setMetadata(metadata())).build());
      return new StreamObserver<>() {
        @Override
        public void onNext(SessionRequest value) {}

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {
          responses.onCompleted();
        }
      };
    }

    private static PolicyMetadata metadata() {
      return PolicyMetadata.newBuilder().setModelName("stand-in").setActionProfile("tiny-sim")
          .addCameras(CameraSpec.newBuilder().setName("third_person").setWidth(64).setHeight(64))
          .addSkills(SKILL).addSkills("grasp the red block").addSkills("lift the block")
          .setStepPeriod(com.google.protobuf.Duration.newBuilder().setNanos(100_000_000)).build();
    }
  }

  /** Records how the gateway's execution stream ends. */
  static final class RecordingBridge extends ControllerBridgeGrpc.ControllerBridgeImplBase {
    final CountDownLatch executeClosed = new CountDownLatch(1);
    final List<String> endings = new CopyOnWriteArrayList<>();

    @Override
    public StreamObserver<ExecuteRequest> execute(StreamObserver<ExecuteResponse> responses) {
      return new StreamObserver<>() {
        @Override
        public void onNext(ExecuteRequest value) {}

        @Override
        public void onError(Throwable t) {
          endings.add("error " + Status.fromThrowable(t).getCode());
          executeClosed.countDown();
        }

        @Override
        public void onCompleted() {
          endings.add("completed");
          responses.onCompleted();
          executeClosed.countDown();
        }
      };
    }
  }

  @Test
  void robotsAreToldToHoldAndTheirExecutionStreamsClose() throws Exception {
    RecordingBridge bridge = new RecordingBridge();
    Server policy = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create()).addService(new SilentPolicy())
        .build().start();
    Server controller = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create()).addService(bridge)
        .build().start();
    ConfigurableApplicationContext gateway = new SpringApplicationBuilder(PlannerGatewayApplication.class).run(
        "--spring.grpc.server.port=0", "--spring.grpc.server.address=127.0.0.1", "--server.port=0",
        "--vla.gateway.policy-target=dns:///127.0.0.1:" + policy.getPort(),
        "--vla.gateway.controller-target=dns:///127.0.0.1:" + controller.getPort());
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1",
        gateway.getBean(GrpcServerPort.class).await(30), InsecureChannelCredentials.create()).build();
    try {
      List<HoldNotice> holds = new CopyOnWriteArrayList<>();
      CountDownLatch started = new CountDownLatch(1);
      GatewaySession session = GatewaySession.open(channel, SessionOpen.newBuilder()
          .setRobot(RobotIdentity.newBuilder().setRobotId("arm-9")).setTask("pick up the red block").build(),
          new GatewaySession.Listener() {
            @Override
            public void onSubgoal(SubgoalEvent event) {
              if (event.getStatus() == SubgoalStatus.SUBGOAL_STATUS_STARTED) {
                started.countDown();
              }
            }

            @Override
            public void onHold(HoldNotice hold) {
              holds.add(hold);
            }
          });
      assertTrue(started.await(30, TimeUnit.SECONDS), "the first subgoal starts");

      gateway.close();

      Status closed = session.awaitClosed(Duration.ofSeconds(30));
      assertEquals(Status.Code.UNAVAILABLE, closed.getCode(), closed.toString());
      assertTrue(closed.getDescription().toLowerCase(java.util.Locale.ROOT).contains("reconnect"), closed.getDescription());
      assertEquals(1, holds.size(), "told to hold once, before the stream ended: " + holds);
      assertTrue(holds.get(0).getReason().contains("shutting down"), holds.get(0).getReason());
      assertTrue(bridge.executeClosed.await(30, TimeUnit.SECONDS), "the bridge's execution stream closes");
      assertEquals(List.of("completed"), bridge.endings, "closed cleanly, so the bridge holds the robot");
    } finally {
      channel.shutdownNow();
      if (gateway.isActive()) {
        gateway.close();
      }
      policy.shutdownNow();
      controller.shutdownNow();
    }
  }
}
