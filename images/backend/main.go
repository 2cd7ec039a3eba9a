// The TORONTO AI TEAM AGENT's backend: a small HTTP API on PostgreSQL.
//
//	GET  /healthz       alive (the liveness probe)
//	GET  /readyz        200 only while the database answers (the readiness probe), with its state
//	GET  /metrics       Prometheus text: requests and errors by route and status code
//	GET  /api/version   the running version
//	GET  /api/visits    visits recorded so far; POST records one
//
// Its failure mode, chosen by FAILURE_MODE (a release's image tag sets it), makes a release
// bad in the ways a deployment strategy must catch: "unready" never passes readiness,
// "crash" exits soon after starting, "errors" fails ERROR_RATIO of its API requests.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

var (
	requests = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "backend_http_requests_total", Help: "HTTP requests served, by route and status code.",
	}, []string{"route", "code"})
	failures = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "backend_http_request_errors_total", Help: "HTTP requests answered with a 5xx status, by route.",
	}, []string{"route"})
)

type server struct {
	version    string
	mode       string
	errorRatio float64
	db         *pgxpool.Pool
}

func main() {
	s := &server{version: envOr("APP_VERSION", "dev"), mode: envOr("FAILURE_MODE", "none")}
	ratio, err := strconv.ParseFloat(envOr("ERROR_RATIO", "0.5"), 64)
	if err != nil || ratio < 0 || ratio > 1 {
		log.Fatalf("ERROR_RATIO must be a number from 0 to 1, not %q", os.Getenv("ERROR_RATIO"))
	}
	s.errorRatio = ratio
	switch s.mode {
	case "none", "unready", "errors":
	case "crash":
		// Long enough to be seen Running, short enough that it never becomes Ready.
		time.AfterFunc(3*time.Second, func() { log.Fatal("crashing on purpose (FAILURE_MODE=crash)") })
	default:
		log.Fatalf("FAILURE_MODE must be none, unready, crash or errors, not %q", s.mode)
	}

	// The pool connects lazily, so the process starts (and answers /healthz) while the
	// database is still coming up; /readyz says when it answers.
	s.db, err = pgxpool.New(context.Background(), databaseURL())
	if err != nil {
		log.Fatalf("database settings: %v", err)
	}
	go s.createSchema()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { reply(w, http.StatusOK, map[string]string{"status": "alive"}) })
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.Handler())
	mux.HandleFunc("GET /api/version", s.api(func(w http.ResponseWriter, _ *http.Request) {
		reply(w, http.StatusOK, map[string]string{"version": s.version})
	}))
	mux.HandleFunc("GET /api/visits", s.api(s.visits(false)))
	mux.HandleFunc("POST /api/visits", s.api(s.visits(true)))

	addr := ":" + envOr("PORT", "8000")
	log.Printf("backend %s (failure mode %s) listening on %s", s.version, s.mode, addr)
	log.Fatal(http.ListenAndServe(addr, counted(mux)))
}

func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	state := map[string]string{"version": s.version, "database": "connected"}
	if err := s.db.Ping(ctx); err != nil {
		state["database"] = "unreachable: " + err.Error()
	}
	switch {
	case s.mode == "unready":
		state["status"] = "failing readiness on purpose (FAILURE_MODE=unready)"
		reply(w, http.StatusServiceUnavailable, state)
	case state["database"] != "connected":
		state["status"] = "waiting for the database"
		reply(w, http.StatusServiceUnavailable, state)
	default:
		state["status"] = "ready"
		reply(w, http.StatusOK, state)
	}
}

// api wraps an /api route: in the "errors" failure mode, a share of its requests fail.
func (s *server) api(handler http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.mode == "errors" && rand.Float64() < s.errorRatio {
			reply(w, http.StatusInternalServerError, map[string]string{"error": "failing on purpose (FAILURE_MODE=errors)"})
			return
		}
		handler(w, r)
	}
}

func (s *server) visits(record bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if record {
			if _, err := s.db.Exec(ctx, "INSERT INTO visits DEFAULT VALUES"); err != nil {
				reply(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
				return
			}
		}
		var count int64
		if err := s.db.QueryRow(ctx, "SELECT count(*) FROM visits").Scan(&count); err != nil {
			reply(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		reply(w, http.StatusOK, map[string]int64{"visits": count})
	}
}

// createSchema retries until the database answers: it may start after the backend.
func (s *server) createSchema() {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := s.db.Exec(ctx, "CREATE TABLE IF NOT EXISTS visits (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())")
		cancel()
		if err == nil {
			log.Print("database schema ready")
			return
		}
		log.Printf("database not ready yet: %v", err)
		time.Sleep(2 * time.Second)
	}
}

func databaseURL() string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(os.Getenv("DATABASE_USER"), os.Getenv("DATABASE_PASSWORD")),
		Host:     fmt.Sprintf("%s:%s", envOr("DATABASE_HOST", "localhost"), envOr("DATABASE_PORT", "5432")),
		Path:     "/" + os.Getenv("DATABASE_NAME"),
		RawQuery: "sslmode=disable&connect_timeout=2",
	}
	return u.String()
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// counted counts every request by its route pattern (never the raw path, which would let
// clients create unbounded label values) and every 5xx answer as an error.
func counted(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		recorder := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		mux.ServeHTTP(recorder, r)
		_, route := mux.Handler(r)
		if route == "" {
			route = "unmatched"
		}
		requests.WithLabelValues(route, strconv.Itoa(recorder.code)).Inc()
		if recorder.code >= 500 {
			failures.WithLabelValues(route).Inc()
		}
	})
}

func reply(w http.ResponseWriter, code int, body any) {
	w.Header().Set("content-type", "application/json")
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(body); err != nil {
		log.Printf("reply: %v", err)
	}
}

func envOr(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}
