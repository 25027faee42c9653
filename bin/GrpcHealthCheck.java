import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import java.util.concurrent.TimeUnit;

/**
 * Polls grpc.health.v1 Check("") at HOST:PORT until SERVING, as the kubelet's gRPC probe does.
 * Run with a JDK >= 21 and grpc-java on the class path (an image's own /opt/vla/app/libs will do):
 * {@code java -cp 'libs/*' bin/GrpcHealthCheck.java localhost:50052 60}. Exit 0 once SERVING, 1 at the deadline.
 */
public class GrpcHealthCheck {
  public static void main(String[] args) throws InterruptedException {
    if (args.length != 2) {
      System.err.println("usage: GrpcHealthCheck HOST:PORT TIMEOUT_SECONDS");
      System.exit(2);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[1]));
    ManagedChannel channel = Grpc.newChannelBuilder(args[0], InsecureChannelCredentials.create()).build();
    String last = "no answer";
    try {
      while (System.nanoTime() < deadline) {
        try {
          ServingStatus status = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(2, TimeUnit.SECONDS)
              .check(HealthCheckRequest.getDefaultInstance()).getStatus();
          if (status == ServingStatus.SERVING) {
            System.out.println(args[0] + " grpc.health.v1: SERVING");
            return;
          }
          last = status.toString();
        } catch (StatusRuntimeException e) {
          last = e.getStatus().getCode().toString();
        }
        Thread.sleep(500);
      }
    } finally {
      channel.shutdownNow();
    }
    System.err.println(args[0] + " grpc.health.v1: not SERVING within " + args[1] + " s (last: " + last + ")");
    System.exit(1);
  }
}
