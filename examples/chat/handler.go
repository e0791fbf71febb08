package main

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/idemgen/idemgen/examples/chat/api"
)

// Chat implements the generated api.Handler over a Board.
type Chat struct {
	board *Board
}

var _ api.Handler = (*Chat)(nil)

// PostMessage posts a JSON message. The key (clientKey) was checked by the
// idempotency runtime before this runs; here it must also match the message,
// so that a client cannot pair one message's key with another text.
func (c *Chat) PostMessage(ctx context.Context, req api.PostMessageRequestObject) (api.PostMessageResponseObject, error) {
	b := req.Body
	if strings.TrimSpace(b.User) == "" || strings.TrimSpace(b.Text) == "" {
		return api.PostMessage400JSONResponse{Body: problem(400, "invalid message", "user and text must not be empty")}, nil
	}
	if want := MessageKey(b.User, b.Text, b.ClientTime); b.ClientKey != want {
		return api.PostMessage400JSONResponse{Body: problem(400, "invalid message",
			"clientKey is not the SHA-256 of user, text and clientTime")}, nil
	}
	ct := b.ClientTime.UTC()
	p := c.board.Add(req.Room, b.User, b.Text, &ct)
	return api.PostMessage201JSONResponse{Body: message(p)}, nil
}

// SubmitMessageForm posts the page's form and redirects back to the room.
func (c *Chat) SubmitMessageForm(ctx context.Context, req api.SubmitMessageFormRequestObject) (api.SubmitMessageFormResponseObject, error) {
	b := req.Body
	if strings.TrimSpace(b.User) == "" || strings.TrimSpace(b.Text) == "" {
		return api.SubmitMessageForm400JSONResponse{Body: problem(400, "invalid message", "user and text must not be empty")}, nil
	}
	c.board.Add(req.Room, b.User, b.Text, nil)
	back := "/?" + url.Values{"room": {req.Room}, "user": {b.User}}.Encode()
	return api.SubmitMessageForm303Response{Headers: api.SubmitMessageForm303ResponseHeaders{Location: back}}, nil
}

// ListMessages returns a room's messages.
func (c *Chat) ListMessages(ctx context.Context, req api.ListMessagesRequestObject) (api.ListMessagesResponseObject, error) {
	posts := c.board.List(req.Room)
	out := make([]api.Message, len(posts))
	for i, p := range posts {
		out[i] = message(p)
	}
	return api.ListMessages200JSONResponse{Body: out}, nil
}

func message(p Post) api.Message {
	return api.Message{
		ID:         p.ID,
		Room:       p.Room,
		User:       p.User,
		Text:       p.Text,
		ClientTime: p.ClientTime,
		PostedAt:   p.PostedAt.Truncate(time.Millisecond),
	}
}

func problem(status int, title, detail string) api.Problem {
	return api.Problem{Title: &title, Status: &status, Detail: &detail}
}
