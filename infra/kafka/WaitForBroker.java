import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterResult;

/**
 * Exits 0 once the broker at args[0] answers a metadata request, 1 when args[1] seconds pass
 * first. An open port is not enough: a KRaft broker listens before it has caught up with the
 * controller and only then serves metadata, which is what clients (and tests) actually need.
 *
 * Usage: java -cp "lib/*:probe" WaitForBroker 127.0.0.1:9092 60
 */
public final class WaitForBroker {
  public static void main(String[] args) throws InterruptedException {
    String bootstrap = args.length > 0 ? args[0] : "127.0.0.1:9092";
    long timeoutSeconds = args.length > 1 ? Long.parseLong(args[1]) : 60;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    String lastError = "no attempt made";

    Map<String, Object> config = Map.of(
        AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
        AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2000,
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 3000,
        AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, 100,
        AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 500);

    Admin admin = Admin.create(config);
    try {
      while (System.nanoTime() < deadline) {
        try {
          DescribeClusterResult cluster = admin.describeCluster();
          int nodes = cluster.nodes().get(3, TimeUnit.SECONDS).size();
          String clusterId = cluster.clusterId().get(3, TimeUnit.SECONDS);
          // Listing topics goes through the broker's metadata cache, not just the bootstrap handshake.
          admin.listTopics().names().get(3, TimeUnit.SECONDS);
          if (nodes > 0) {
            System.out.println("kafka: " + bootstrap + " serves metadata (cluster " + clusterId + ", " + nodes + " node)");
            return;
          }
          lastError = "cluster reports no nodes yet";
        } catch (Exception e) {
          Throwable cause = e.getCause() != null ? e.getCause() : e;
          lastError = cause.getClass().getSimpleName() + ": " + cause.getMessage();
        }
        Thread.sleep(200);
      }
    } finally {
      // A plain close() waits for every in-flight call; bounded so a dead broker cannot hang us.
      admin.close(Duration.ofSeconds(1));
    }
    System.err.println("kafka: " + bootstrap + " did not answer a metadata request within "
        + timeoutSeconds + "s (" + lastError + ")");
    System.exit(1);
  }

  private WaitForBroker() {}
}
