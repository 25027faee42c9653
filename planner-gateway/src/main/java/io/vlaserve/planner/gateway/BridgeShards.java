package io.vlaserve.planner.gateway;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.vlaserve.controller.v1.ControllerBridgeGrpc;
import io.vlaserve.controller.v1.ExecutionMode;
import io.vlaserve.controller.v1.ExecutionState;
import io.vlaserve.controller.v1.StreamStateRequest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The controller bridges the gateway drives robots through, each a shard owning its own robots
 * (one bridge per robot cell or per set of robots: a robot is driven by exactly one bridge). A
 * robot's bridge is found by asking every shard at once for the robot's state: a bridge that knows
 * it answers, the others say NOT_FOUND; of several that know it (a standby shard listing it too),
 * the one its agent is linked to (the state carries a measurement) wins. The answer is remembered until a call to that bridge says
 * the robot is not there ({@link #forget}). With one shard, every robot is routed to it.
 * Thread-safe.
 */
final class BridgeShards implements AutoCloseable {
  /** One bridge: its gRPC target (as configured, for messages) and channel. */
  record Shard(String target, ManagedChannel channel) {}

  /**
   * Where a robot is driven, and its mode there; {@code shard} null if no bridge knows it.
   * {@code linked}: the robot's agent is linked there (its state has a measurement), not a standby's.
   */
  record Located(Shard shard, ExecutionMode mode, boolean linked) {
    Located(Shard shard, ExecutionMode mode) {
      this(shard, mode, false);
    }
  }

  private final List<Shard> shards;
  private final Map<String, Shard> owners = new ConcurrentHashMap<>();
  /** Owners known to drive their robot (its agent linked there, or another replica's hint), not a standby's. */
  private final Map<String, Shard> driving = new ConcurrentHashMap<>();

  BridgeShards(List<Shard> shards) {
    if (shards.isEmpty()) {
      throw new IllegalArgumentException("no controller bridge (vla.gateway.controller-target or"
          + " vla.gateway.controller-shards)");
    }
    this.shards = List.copyOf(shards);
  }

  /** A single bridge driving every robot. */
  static BridgeShards single(String target, ManagedChannel channel) {
    return new BridgeShards(List.of(new Shard(target, channel)));
  }

  List<Shard> shards() {
    return shards;
  }

  /** The channel to {@code robotId}'s bridge: the one last located, else the first shard (whose answer then says). */
  ManagedChannel channel(String robotId) {
    Shard owner = owners.get(robotId);
    return (owner != null ? owner : shards.getFirst()).channel();
  }

  /**
   * Where {@code robotId} is driven, to hand to another replica (a resume token's bridge hint): the
   * target of the shard its agent was found linked to; "" with one shard (nothing to choose), or if
   * it was not located or only at a standby.
   */
  String hint(String robotId) {
    // Only a bridge the robot's agent is linked to: a standby that merely lists the robot (found
    // before the agent linked anywhere) would send every later replica to a bridge that cannot move it.
    Shard owner = shards.size() > 1 ? driving.get(robotId) : null;
    return owner == null ? "" : owner.target();
  }

  /**
   * Whether calls for {@code robotId} can go to its bridge without looking for it first: there is
   * one shard, the robot was located, or {@code hint} (another replica's {@link #hint}) names one of
   * this gateway's shards, which is then taken as the robot's until a call there says otherwise.
   */
  boolean knows(String robotId, String hint) {
    if (shards.size() == 1 || owners.containsKey(robotId)) {
      return true;
    }
    for (Shard shard : shards) {
      if (shard.target().equals(hint)) {
        owners.putIfAbsent(robotId, shard);
        driving.putIfAbsent(robotId, shard);
        return true;
      }
    }
    return false;
  }

  /** Forgets where {@code robotId} is, after its bridge said it is not there (or went away). */
  void forget(String robotId) {
    owners.remove(robotId);
    driving.remove(robotId);
  }

  /**
   * Finds {@code robotId}'s bridge and its mode there, asking every shard at once within
   * {@code timeout}. Blocks.
   *
   * @return the owner and mode; with one shard that shard, its mode UNSPECIFIED if it did not say;
   *     with several, shard null if none knows the robot
   */
  Located locate(String robotId, Duration timeout) {
    if (shards.size() == 1) {
      Shard only = shards.getFirst();
      ExecutionMode mode = stateOrNull(ask(only, robotId, timeout), timeout);
      return new Located(only, mode == null ? ExecutionMode.EXECUTION_MODE_UNSPECIFIED : mode);
    }
    // The first bridge that drives the robot (its agent linked: the state has a measurement) wins at
    // once; one that only knows it (a standby shard) wins if no other does, once all have answered.
    CompletableFuture<Located> found = new CompletableFuture<>();
    java.util.concurrent.atomic.AtomicInteger unanswered = new java.util.concurrent.atomic.AtomicInteger(shards.size());
    java.util.concurrent.atomic.AtomicReference<Located> standby = new java.util.concurrent.atomic.AtomicReference<>();
    for (Shard shard : shards) {
      ask(shard, robotId, timeout).whenComplete((state, failure) -> {
        if (state != null && state.hasMeasured()) {
          found.complete(new Located(shard, state.getMode(), true));
          return;
        }
        if (state != null) {
          standby.compareAndSet(null, new Located(shard, state.getMode()));
        }
        if (unanswered.decrementAndGet() == 0) {
          Located known = standby.get();
          found.complete(known != null ? known : new Located(null, ExecutionMode.EXECUTION_MODE_UNSPECIFIED));
        }
      });
    }
    Located located;
    try {
      located = found.get(timeout.toNanos() + TimeUnit.SECONDS.toNanos(1), TimeUnit.NANOSECONDS);
    } catch (ExecutionException | TimeoutException e) {
      located = new Located(null, ExecutionMode.EXECUTION_MODE_UNSPECIFIED);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      located = new Located(null, ExecutionMode.EXECUTION_MODE_UNSPECIFIED);
    }
    if (located.shard() != null) {
      owners.put(robotId, located.shard());
      if (located.linked()) {
        driving.put(robotId, located.shard());
      } else {
        driving.remove(robotId); // found only as a standby this time
      }
    } else {
      owners.remove(robotId);
      driving.remove(robotId);
    }
    return located;
  }

  /** The first state {@code shard} reports for the robot; completes exceptionally if it cannot. */
  private static CompletableFuture<ExecutionState> ask(Shard shard, String robotId, Duration timeout) {
    CompletableFuture<ExecutionState> answer = new CompletableFuture<>();
    ControllerBridgeGrpc.newStub(shard.channel()).withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .streamState(StreamStateRequest.newBuilder().setRobotId(robotId).build(),
            new ClientResponseObserver<StreamStateRequest, ExecutionState>() {
              private ClientCallStreamObserver<StreamStateRequest> call;

              @Override
              public void beforeStart(ClientCallStreamObserver<StreamStateRequest> requestStream) {
                call = requestStream;
              }

              @Override
              public void onNext(ExecutionState state) {
                // The first state is all a lookup needs.
                if (answer.complete(state)) {
                  call.cancel("located", null);
                }
              }

              @Override
              public void onError(Throwable t) {
                answer.completeExceptionally(t);
              }

              @Override
              public void onCompleted() {
                answer.completeExceptionally(Status.NOT_FOUND.withDescription("no state").asRuntimeException());
              }
            });
    return answer;
  }

  /** The mode in {@code answer}, or null if the bridge did not know the robot or did not answer. */
  private static ExecutionMode stateOrNull(CompletableFuture<ExecutionState> answer, Duration timeout) {
    try {
      return answer.get(timeout.toNanos() + TimeUnit.SECONDS.toNanos(1), TimeUnit.NANOSECONDS).getMode();
    } catch (ExecutionException | TimeoutException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /**
   * Whether {@code status}, ending a robot's Execute stream, means its bridge went away (shut down,
   * drained, unreachable: the stream was cut, not refused), so the robot may be driven again there
   * or at another bridge.
   */
  static boolean wentAway(Status status) {
    return status.getCode() == Status.Code.UNAVAILABLE || status.getCode() == Status.Code.CANCELLED;
  }

  /** Whether {@code status}, from a call to a robot's bridge, means the robot is not (or no longer) there. */
  static boolean notThere(Status status) {
    return status.getCode() == Status.Code.NOT_FOUND || status.getCode() == Status.Code.UNAVAILABLE;
  }

  @Override
  public void close() throws InterruptedException {
    for (Shard shard : shards) {
      shard.channel().shutdown();
    }
    for (Shard shard : shards) {
      shard.channel().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
