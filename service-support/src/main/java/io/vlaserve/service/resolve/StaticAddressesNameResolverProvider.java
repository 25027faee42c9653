package io.vlaserve.service.resolve;

import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.Status;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * gRPC targets that list their addresses: {@code static:///10.0.0.5:50052,10.0.0.6:50052}. For
 * replicas without a DNS name that resolves to all of them (hosts at the edge, a compose file with
 * fixed addresses, a test on loopback); in Kubernetes a headless Service's {@code dns:///} target
 * does this. Each entry is {@code host:port} ({@code [v6]:port} for IPv6); the channel's load
 * balancing policy spreads calls over them. Registered through {@code META-INF/services}.
 */
public final class StaticAddressesNameResolverProvider extends NameResolverProvider {
  public static final String SCHEME = "static";

  @Override
  protected boolean isAvailable() {
    return true;
  }

  /** Below dns (5): never the default scheme. */
  @Override
  protected int priority() {
    return 4;
  }

  @Override
  public String getDefaultScheme() {
    return SCHEME;
  }

  @Override
  public Collection<Class<? extends SocketAddress>> getProducedSocketAddressTypes() {
    return List.of(InetSocketAddress.class);
  }

  @Override
  public NameResolver newNameResolver(URI target, NameResolver.Args args) {
    if (!SCHEME.equals(target.getScheme())) {
      return null;
    }
    String path = target.getPath();
    List<EquivalentAddressGroup> addresses = parse(path == null || path.isEmpty() ? "" : path.substring(1));
    return new NameResolver() {
      @Override
      public String getServiceAuthority() {
        // TLS checks each server's certificate against this name: the first entry's host.
        return ((InetSocketAddress) addresses.getFirst().getAddresses().getFirst()).getHostString();
      }

      @Override
      public void start(Listener2 listener) {
        listener.onResult(ResolutionResult.newBuilder().setAddresses(addresses).build());
      }

      @Override
      public void refresh() {
        // Fixed addresses: nothing new to find.
      }

      @Override
      public void shutdown() {}
    };
  }

  /**
   * The addresses of {@code list} ({@code host:port,host:port}), each its own group so that
   * round_robin balances over them and pick_first tries them in order.
   *
   * @throws IllegalArgumentException naming the entry that is not {@code host:port}
   */
  static List<EquivalentAddressGroup> parse(String list) {
    List<EquivalentAddressGroup> groups = new ArrayList<>();
    for (String entry : list.split(",", -1)) {
      String trimmed = entry.trim();
      int colon = trimmed.lastIndexOf(':');
      if (colon <= 0 || colon == trimmed.length() - 1) {
        throw new IllegalArgumentException(problem(list, trimmed));
      }
      String host = trimmed.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      int port;
      try {
        port = Integer.parseInt(trimmed.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(problem(list, trimmed));
      }
      if (port < 1 || port > 65535 || host.isEmpty()) {
        throw new IllegalArgumentException(problem(list, trimmed));
      }
      // An address literal as it is; a host name is looked up once, here.
      groups.add(new EquivalentAddressGroup(new InetSocketAddress(host, port)));
    }
    return List.copyOf(groups);
  }

  private static String problem(String list, String entry) {
    return Status.INVALID_ARGUMENT.getCode() + ": static target '" + list + "': entry '" + entry
        + "' is not host:port (expected e.g. static:///10.0.0.5:50052,10.0.0.6:50052)";
  }
}
