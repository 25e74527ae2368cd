import java.security.PrivilegedExceptionAction;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FsShell;
import org.apache.hadoop.security.UserGroupInformation;

/**
 * Runs several Hadoop FsShell commands in one JVM (for test_fsshell.py).
 *
 * <p>Arguments: the file system URI, then "-Dkey=value" settings, then commands separated by "--".
 * A command whose first word is "@name" runs as the user "name". After each command "@@rc=N"
 * is printed on both stdout and stderr.
 */
public class ShellBatch {
  public static void main(String[] args) throws Exception {
    Configuration conf = new Configuration();
    conf.set("fs.defaultFS", args[0]);
    int i = 1;
    for (; i < args.length && args[i].startsWith("-D"); i++) {
      String[] pair = args[i].substring(2).split("=", 2);
      conf.set(pair[0], pair[1]);
    }
    List<String> command = new ArrayList<>();
    for (; i <= args.length; i++) {
      if (i == args.length || args[i].equals("--")) {
        run(conf, command);
        command.clear();
      } else {
        command.add(args[i]);
      }
    }
  }

  private static void run(Configuration conf, List<String> command) throws Exception {
    String user = null;
    if (!command.isEmpty() && command.get(0).startsWith("@")) {
      user = command.remove(0).substring(1);
    }
    final String[] argv = command.toArray(new String[0]);
    final FsShell shell = new FsShell(new Configuration(conf));
    int rc;
    if (user == null) {
      rc = shell.run(argv);
    } else {
      rc = UserGroupInformation.createRemoteUser(user)
          .doAs((PrivilegedExceptionAction<Integer>) () -> shell.run(argv));
    }
    System.out.flush();
    System.err.flush();
    System.out.println("@@rc=" + rc);
    System.err.println("@@rc=" + rc);
  }
}
