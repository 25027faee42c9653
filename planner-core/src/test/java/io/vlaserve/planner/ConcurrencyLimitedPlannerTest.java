package io.vlaserve.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class ConcurrencyLimitedPlannerTest {
  /** A planner that holds every call until released, so "in flight" is decided by the test. */
  private static final class GatedPlanner implements Planner {
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);

    @Override
    public String name() {
      return "gated";
    }

    @Override
    public PlannedTask plan(PlanningRequest request) throws PlanningException {
      entered.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return new EmbeddedPlanner().plan(request);
    }
  }

  @Test
  void aCallBeyondTheLimitIsBusyAfterItsWaitAndTheNextAfterAReleaseIsServed() throws Exception {
    GatedPlanner gated = new GatedPlanner();
    ConcurrencyLimitedPlanner planner = new ConcurrencyLimitedPlanner(gated, 1, Duration.ZERO);
    PlanningRequest request = PlanningRequest.initial("pick up the red block", "", List.of("move to the red block",
        "grasp the red block", "lift the block"));
    CompletableFuture<PlannedTask> first = CompletableFuture.supplyAsync(() -> {
      try {
        return planner.plan(request);
      } catch (PlanningException e) {
        throw new IllegalStateException(e);
      }
    });
    gated.entered.await();
    assertEquals(1, planner.inFlight());
    PlanningException busy = assertThrows(PlanningException.class, () -> planner.plan(request));
    assertEquals(PlanningException.Kind.BUSY, busy.kind());
    assertTrue(busy.getMessage().startsWith("1 plans already being made (vla.gateway.quota.max-concurrent-plans)"),
        busy.getMessage());
    gated.release.countDown();
    first.get();
    assertEquals(0, planner.inFlight());
    assertEquals("gated", planner.name());
    assertTrue(!planner.plan(request).subgoals().isEmpty(), "a slot is free again");
  }

  @Test
  void aLimitBelowOneIsRefusedNamingTheProperty() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new ConcurrencyLimitedPlanner(new EmbeddedPlanner(), 0, Duration.ZERO));
    assertTrue(e.getMessage().contains("vla.gateway.quota.max-concurrent-plans: 0"), e.getMessage());
  }
}
