// The TORONTO AI TEAM AGENT's frontend: serves its static page (embedded at build time) and
// /healthz. APP_VERSION, set by the image, is shown on the page.
package main

import (
	"embed"
	"html/template"
	"log"
	"net/http"
	"os"
)

//go:embed site
var site embed.FS

var page = template.Must(template.ParseFS(site, "site/index.html"))

func main() {
	version := os.Getenv("APP_VERSION")
	env := os.Getenv("APP_ENV")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("content-type", "text/html; charset=utf-8")
		if err := page.Execute(w, map[string]string{"Version": version, "Environment": env}); err != nil {
			log.Printf("page: %v", err)
		}
	})
	addr := ":" + envOr("PORT", "8080")
	log.Printf("frontend %s listening on %s", version, addr)
	log.Fatal(http.ListenAndServe(addr, mux))
}

func envOr(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}
