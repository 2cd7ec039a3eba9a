// The database image's entrypoint: PostgreSQL from Debian's binaries, set up on first start
// the way the official image is, from POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB.
// The image has no shell, so this does what an entrypoint script would: initdb into an
// empty PGDATA (the password through a file, never an argument), allow password logins from
// the pod network, create the database, then become the server (exec), so that the kubelet's
// SIGTERM reaches PostgreSQL itself.
package main

import (
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

func main() {
	bin := os.Getenv("PGBIN") // set by the image: Debian keeps each major version's binaries apart
	data := os.Getenv("PGDATA")
	user := os.Getenv("POSTGRES_USER")
	if bin == "" || data == "" || user == "" || os.Getenv("POSTGRES_PASSWORD") == "" {
		log.Fatal("PGBIN, PGDATA, POSTGRES_USER and POSTGRES_PASSWORD must be set")
	}
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); os.IsNotExist(err) {
		if err := initialise(bin, data, user); err != nil {
			log.Fatalf("initialising %s: %v", data, err)
		}
	}
	postgres := filepath.Join(bin, "postgres")
	args := []string{postgres, "-D", data, "-c", "listen_addresses=*"}
	log.Printf("starting %s", strings.Join(args, " "))
	log.Fatal(syscall.Exec(postgres, args, os.Environ()))
}

func initialise(bin, data, user string) error {
	password, err := os.CreateTemp("", "pwfile")
	if err != nil {
		return err
	}
	defer os.Remove(password.Name())
	if _, err := password.WriteString(os.Getenv("POSTGRES_PASSWORD")); err != nil {
		return err
	}
	password.Close()

	if err := run(exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", user, "--pwfile", password.Name(),
		"--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-instructions")); err != nil {
		return err
	}
	// initdb allows loopback only; the backend connects from its own pod's address.
	hba, err := os.OpenFile(filepath.Join(data, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer hba.Close()
	if _, err := hba.WriteString("host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n"); err != nil {
		return err
	}

	name := os.Getenv("POSTGRES_DB")
	if name == "" || name == "postgres" {
		return nil
	}
	// Single-user mode runs one statement per line from stdin, with no server listening yet.
	create := exec.Command(filepath.Join(bin, "postgres"), "--single", "-D", data, "postgres")
	create.Stdin = strings.NewReader(fmt.Sprintf("CREATE DATABASE %s OWNER %s\n", identifier(name), identifier(user)))
	return run(create)
}

func run(cmd *exec.Cmd) error {
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(cmd.Path), err)
	}
	return nil
}

// identifier quotes a name for SQL, doubling any quote inside it.
func identifier(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
