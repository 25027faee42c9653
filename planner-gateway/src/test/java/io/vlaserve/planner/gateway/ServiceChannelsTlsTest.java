package io.vlaserve.planner.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.TlsServerCredentials;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.protobuf.services.HealthStatusManager;
import io.vlaserve.tls.TestPki;
import io.vlaserve.tls.TlsMaterial;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The gateway's channels to policy-service and controller-bridge with {@code vla.tls.*}: mutual
 * TLS against a stand-in server that requires client certificates, the gateway presenting its own.
 */
class ServiceChannelsTlsTest {
  @Test
  void theGatewayPresentsItsCertificateAndChecksTheServices(@TempDir Path dir) throws Exception {
    TestPki pki = TestPki.create(dir, "suite");
    TestPki.Issued service = pki.server("policy-service");
    TestPki.Issued gateway = pki.server("planner-gateway");
    Set<BigInteger> clientSerials = ConcurrentHashMap.newKeySet();
    ServerInterceptor recordClient = new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
          ServerCallHandler<Q, R> next) {
        SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        try {
          clientSerials.add(((X509Certificate) session.getPeerCertificates()[0]).getSerialNumber());
        } catch (SSLPeerUnverifiedException e) {
          throw new AssertionError("client auth is required, so the client presented a certificate", e);
        }
        return next.startCall(call, headers);
      }
    };
    try (TlsMaterial serverMaterial = TlsMaterial.load(service.certificate(), service.privateKey(), pki.caCertificate())) {
      Server standIn = Grpc.newServerBuilderForPort(0,
              serverMaterial.serverCredentials(TlsServerCredentials.ClientAuth.REQUIRE))
          .addService(ServerInterceptors.intercept(new HealthStatusManager().getHealthService(), recordClient))
          .build().start();
      try (ConfigurableApplicationContext app = new SpringApplicationBuilder(PlannerGatewayApplication.class).run(
          "--spring.grpc.server.port=0", "--spring.grpc.server.address=127.0.0.1",
          "--server.port=0", "--server.address=127.0.0.1",
          "--vla.gateway.policy-target=localhost:" + standIn.getPort(),
          "--vla.gateway.controller-target=localhost:" + standIn.getPort(),
          "--vla.tls.insecure=false", "--vla.tls.certificate=" + gateway.certificate(), "--vla.tls.private-key=" + gateway.privateKey(),
          "--vla.tls.trust=" + pki.caCertificate(), "--vla.tls.client-auth=require")) {
        GatewayConfiguration.ServiceChannels channels = app.getBean(GatewayConfiguration.ServiceChannels.class);
        for (var channel : new io.grpc.Channel[] {channels.policy(), channels.bridges().shards().getFirst().channel()}) {
          assertEquals(HealthCheckResponse.ServingStatus.SERVING, HealthGrpc.newBlockingStub(channel)
              .withDeadlineAfter(30, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance()).getStatus());
        }
      } finally {
        standIn.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
    assertEquals(Set.of(gateway.serial()), clientSerials, "the gateway presented its own certificate");
  }
}
